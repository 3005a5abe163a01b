// Shape of k6's examples/http_batch.js: two GETs sent together with http.batch, here for a fixed
// number of iterations.
import { check } from 'k6';
import http from 'k6/http';

export const options = {
  iterations: 10,
};

export default function() {
  const [home, pi] = http.batch([
    "https://shop.test/test.k6.io",
    "https://shop.test/pi.php",
  ]);
  check(pi, { "pi is 200": (r) => r.status === 200 });
}
