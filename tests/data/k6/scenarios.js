// Two scenarios with their own functions: browsing at a constant arrival rate, and a ramp of
// users who log in and create items. The base URL comes from the environment (a run-time value,
// so the import drops it as the host); an item id is a path parameter.
import http from 'k6/http';
import { check, sleep } from 'k6';
import { randomIntBetween } from 'https://jslib.k6.io/k6-utils/1.2.0/index.js';

const BASE_URL = __ENV.BASE_URL || 'https://test-api.k6.io';

export const options = {
  scenarios: {
    browse: {
      executor: 'constant-arrival-rate',
      exec: 'browse',
      rate: 20,
      timeUnit: '1s',
      duration: '30s',
      preAllocatedVUs: 10,
      maxVUs: 50,
    },
    authors: {
      executor: 'ramping-vus',
      exec: 'author',
      startTime: '5s',
      startVUs: 0,
      stages: [
        { duration: '10s', target: 5 },
        { duration: '10s', target: 5 },
        { duration: '5s', target: 0 },
      ],
      gracefulRampDown: '5s',
    },
  },
  thresholds: {
    http_req_failed: ['rate<0.01'],
    http_req_duration: ['p(95)<500', { threshold: 'p(99)<1500', abortOnFail: true }],
    checks: ['rate>0.99'],
  },
};

export function browse() {
  const list = http.get(`${BASE_URL}/api/crocodiles/`);
  const id = randomIntBetween(1, 8);
  http.get(`${BASE_URL}/api/crocodiles/${id}/`);
  check(list, { 'listed': (r) => r.status === 200 });
}

export function author() {
  const login = http.post(`${BASE_URL}/auth/token/login/`, { username: 'user', password: 'pass' });
  for (let i = 0; i < 3; i++) {
    http.post(`${BASE_URL}/api/crocodiles/`, { name: `croc ${i}` });
    sleep(randomIntBetween(1, 3));
  }
}
