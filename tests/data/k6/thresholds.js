// Shape of k6's examples/thresholds.js: thresholds over all request times and over one request
// picked by its `name` tag, plus the object form with abortOnFail.
import http from "k6/http";

export let options = {
    vus: 2,
    duration: "15s",
    thresholds: {
        http_req_duration: ["p(95)<500"],
        "http_req_duration{name:http://shop.test/post}": ["max<1000"],
        http_req_failed: [{ threshold: "rate<0.01", abortOnFail: true, delayAbortEval: "10s" }],
    }
};

export default function() {
    http.get("http://shop.test/");
    http.post("http://shop.test/post", { item: "socks" });
}
