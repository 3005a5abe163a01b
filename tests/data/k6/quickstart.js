// Shape of the script `k6 new` generates: the vus + duration shortcut, one GET, a fixed sleep.
import http from 'k6/http';
import { sleep } from 'k6';

export const options = {
  vus: 10,         // ten looping virtual users
  duration: '30s', // for half a minute
};

export default function () {
  http.get('https://shop.test');
  sleep(1);
}
