// Shape of k6's examples/es6sample.js: custom Counter and Rate metrics (one with a threshold),
// nested groups, a request inside a check, and a random think time `10 * Math.random()`.
import { group, check, sleep } from "k6";
import { Counter, Rate } from "k6/metrics";
import http from "k6/http";

export let options = {
	iterations: 20,
	vus: 4,
	thresholds: {
		good_pages: ["rate>=0.4"],
		http_req_duration: ["avg<1000"],
	}
};

let visits = new Counter("visits");
let goodPages = new Rate("good_pages");

export default function() {
	group("catalogue", function() {
		visits.add(1);
		group("api", function() {
			check(http.get("https://shop.test/get", { headers: { "X-Client": "k6" } }), {
				"200": (r) => goodPages.add(r.status === 200),
			});
		});
		group("page", function() {
			http.get("https://shop.test/test.k6.io/");
		});
	});
	sleep(10 * Math.random());
};
