// Shape of k6's examples/stages.js: `export let` and the top-level `stages` shortcut (up, hold,
// down), a GET checked for its status.
import http from "k6/http";
import { check } from "k6";

export let options = {
    stages: [
        { duration: "10s", target: 5 }, // climb to five users
        { duration: "5s", target: 5 },  // hold
        { duration: "5s", target: 0 }   // and leave
    ]
};

export default function() {
    const page = http.get("http://shop.test/");
    check(page, { "answered 200": (r) => r.status === 200 });
}
