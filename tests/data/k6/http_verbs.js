// Shape of k6's examples/http_verbs.js: a group per HTTP method (k6's `del` is DELETE), query
// strings, JSON bodies; no options at all, so k6 runs one iteration on one VU.
import http from "k6/http";
import { check, group } from "k6";

const json = { headers: { "Content-Type": "application/json" } };

export default function() {
    group("read", function() {
        const r = http.get("http://shop.test/get?page=2");
        check(r, { "ok": (x) => x.status === 200 });
    });
    group("create", function() {
        http.post("http://shop.test/post", { sku: "A1" });
    });
    group("replace", function() {
        http.put("http://shop.test/put", JSON.stringify({ sku: "A2" }), json);
    });
    group("amend", function() {
        http.patch("http://shop.test/patch", JSON.stringify({ qty: 3 }), json);
    });
    group("remove", function() {
        http.del("http://shop.test/delete?sku=A2");
    });
}
