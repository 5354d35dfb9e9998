"use strict";
// vnfguard console: a hash-routed page over /console/api. #/?filters (overview), #/instance/ID, #/finding/ID.
(function () {
  var API = "/console/api/";
  var FILTERS = ["cluster", "namespace", "instance", "technique", "rule", "severity", "source", "status", "range"];
  var SEVERITIES = ["critical", "high", "medium", "low", "info"];
  var PALETTE = ["#1f5fbf", "#d0442c", "#2e9d62", "#e39b23", "#7d4cc2", "#2aa6b8", "#b84f8a", "#6b7a2a"];
  var SEV_COLOR = { critical: "#8b1a1a", high: "#d0442c", medium: "#e39b23", low: "#3f8fd2", info: "#8d99ae" };
  var view = document.getElementById("view");
  var timer = null;
  // generation counts the page's renders; a response that arrives after the page moved on (an older finding's, a
  // sort order the user already changed) is dropped instead of drawn over the newer page.
  var generation = 0;

  function el(tag, attrs, children) {
    var e = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) {
      if (k === "text") e.textContent = attrs[k];
      else if (k === "class") e.className = attrs[k];
      else e.setAttribute(k, attrs[k]);
    });
    (children || []).forEach(function (c) { if (c) e.appendChild(typeof c === "string" ? document.createTextNode(c) : c); });
    return e;
  }
  function Stale() {}
  function get(path) {
    var asked = generation;
    return fetch(API + path, { credentials: "same-origin" }).then(function (r) {
      if (r.status === 401) { location.href = "/console/login"; throw new Error("signed out"); }
      return r.json().then(function (body) {
        if (!r.ok) throw new Error(body.error || r.statusText);
        if (asked !== generation) throw new Stale();
        return body;
      });
    });
  }
  // failed returns a request's error handler: it shows the error with show, and ignores a stale response.
  function failed(show) {
    return function (err) { if (!(err instanceof Stale)) show(err); };
  }
  function route() {
    var h = location.hash.replace(/^#/, "") || "/";
    var q = h.indexOf("?") >= 0 ? h.slice(h.indexOf("?") + 1) : "";
    var path = h.split("?")[0];
    return { path: path, params: new URLSearchParams(q) };
  }
  function go(path, params) {
    var q = params ? params.toString() : "";
    location.hash = "#" + path + (q ? "?" + q : "");
  }
  function sev(name) { return el("span", { class: "sev sev-" + name, text: name }); }
  function when(t) { return t ? new Date(t).toLocaleString() : ""; }
  function objectText(o) {
    if (!o || !o.kind) return "";
    // A request on a collection (list, watch, deletecollection) names no object: say which collection.
    if (!o.name) return "every " + o.kind + " in " + (o.namespace ? "namespace " + o.namespace : "every namespace");
    return o.kind + " " + (o.namespace ? o.namespace + "/" : "") + o.name + (o.subresource ? "/" + o.subresource : "");
  }
  function showError(err) { view.replaceChildren(el("p", { class: "error", text: "Error: " + err.message })); }

  // ---- overview ----
  function overview(params) {
    if (!params.get("range")) params.set("range", "24h");
    var filters = el("div", { class: "filters", id: "filters" });
    var chart = el("div", { class: "panel", id: "chart" });
    var table = el("div", { id: "table" });
    var live = el("input", { type: "checkbox", id: "live" });
    live.checked = params.get("live") !== "0";
    view.replaceChildren(el("h1", { text: "Findings" }), filters, chart, table,
      el("label", { class: "muted" }, [live, " live updates (every 5 s)"]));
    live.addEventListener("change", function () { params.set("live", live.checked ? "1" : "0"); go("/", params); });
    get("facets?" + params.toString()).then(function (fc) {
      var options = { cluster: fc.clusters, namespace: fc.namespaces, instance: fc.instances, technique: fc.techniques,
        rule: fc.rules, severity: fc.severities, source: fc.sources, status: ["open", "resolved"], range: ["1h", "6h", "24h", "7d", "30d", "all"] };
      FILTERS.forEach(function (name) {
        var s = el("select", { id: "filter-" + name, name: name });
        if (name !== "range") s.appendChild(el("option", { value: "", text: name === "severity" ? "any (min.)" : "all" }));
        (options[name] || []).forEach(function (v) { s.appendChild(el("option", { value: v, text: v })); });
        s.value = params.get(name) || "";
        s.addEventListener("change", function () {
          if (s.value) params.set(name, s.value); else params.delete(name);
          params.delete("offset");
          go("/", params);
        });
        filters.appendChild(el("label", {}, [name, s]));
      });
    }).catch(failed(showError));
    function refresh() {
      drawChart(chart, params);
      drawTable(table, params);
    }
    refresh();
    if (live.checked) timer = setInterval(refresh, 5000);
  }

  // duration words a bucket's length in milliseconds: "5 min", "1 h", "1 d".
  function duration(ms) {
    var m = Math.round(ms / 60000);
    if (m < 60) return m + " min";
    if (m < 1440) return Math.round(m / 60) + " h";
    return Math.round(m / 1440) + " d";
  }

  function drawChart(box, params) {
    var by = params.get("by") === "severity" ? "severity" : "technique";
    get("histogram?" + params.toString()).then(function (h) {
      var since = new Date(h.since).getTime(), until = new Date(h.until).getTime(), step = h.step * 1000;
      var n = Math.max(1, Math.ceil((until - since) / step));
      var keys = [], totals = [];
      for (var i = 0; i < n; i++) totals.push({});
      h.buckets.forEach(function (b) {
        var i = Math.min(n - 1, Math.floor((new Date(b.start).getTime() - since) / step));
        var k = b[by];
        if (keys.indexOf(k) < 0) keys.push(k);
        totals[i][k] = (totals[i][k] || 0) + b.count;
      });
      if (by === "severity") keys.sort(function (a, b) { return SEVERITIES.indexOf(a) - SEVERITIES.indexOf(b); });
      else keys.sort();
      var color = function (k, i) { return by === "severity" ? SEV_COLOR[k] : PALETTE[i % PALETTE.length]; };
      var peak = 0;
      totals.forEach(function (t) { var s = 0; keys.forEach(function (k) { s += t[k] || 0; }); peak = Math.max(peak, s); });
      var max = Math.max(1, peak);
      var W = 1000, H = 160, bw = W / n;
      var svg = document.createElementNS("http://www.w3.org/2000/svg", "svg");
      svg.setAttribute("class", "chart");
      svg.setAttribute("viewBox", "0 0 " + W + " " + (H + 20));
      svg.setAttribute("preserveAspectRatio", "none");
      svg.setAttribute("id", "chart-svg");
      totals.forEach(function (t, i) {
        var y = H;
        keys.forEach(function (k, ki) {
          var v = t[k] || 0;
          if (!v) return;
          var hgt = v / max * H;
          y -= hgt;
          var r = document.createElementNS("http://www.w3.org/2000/svg", "rect");
          r.setAttribute("x", i * bw + 1); r.setAttribute("y", y); r.setAttribute("width", Math.max(1, bw - 2)); r.setAttribute("height", hgt);
          r.setAttribute("fill", color(k, ki));
          r.setAttribute("data-key", k); r.setAttribute("data-count", v);
          var title = document.createElementNS("http://www.w3.org/2000/svg", "title");
          title.textContent = k + ": " + v + " at " + new Date(since + i * step).toLocaleString();
          r.appendChild(title);
          svg.appendChild(r);
        });
      });
      var legend = el("div", { class: "legend", id: "chart-legend" });
      keys.forEach(function (k, ki) {
        var s = el("span", { text: k });
        s.style.setProperty("--c", color(k, ki));
        legend.appendChild(s);
      });
      var toggle = el("select", { id: "chart-by" }, [el("option", { value: "technique", text: "by FiGHT technique" }), el("option", { value: "severity", text: "by severity" })]);
      toggle.value = by;
      toggle.addEventListener("change", function () { params.set("by", toggle.value); go("/", params); });
      // The time axis and the scale, as text under the bars (the bars' SVG stretches to the panel's width).
      var axis = el("div", { class: "chart-axis", id: "chart-axis" }, [
        el("span", { text: new Date(since).toLocaleString() }),
        el("span", { text: "highest bar: " + peak + " finding" + (peak === 1 ? "" : "s") + " in " + duration(step) }),
        el("span", { text: new Date(until).toLocaleString() })]);
      box.replaceChildren(el("div", { class: "chart-head" }, [el("h2", { text: "Findings over time" }), toggle]), svg, axis, legend);
    }).catch(failed(function (err) { box.replaceChildren(el("p", { class: "error", text: err.message })); }));
  }

  var COLUMNS = [["lastSeen", "Last seen"], ["severity", "Severity"], ["technique", "Technique"], ["rule", "Rule"],
    ["instance", "VNF instance"], ["namespace", "Object"], [null, "Message"], ["count", "Count"], [null, "Status"]];

  function drawTable(box, params) {
    var limit = 50, offset = parseInt(params.get("offset") || "0", 10);
    get("findings?" + params.toString() + "&limit=" + limit).then(function (page) {
      var sort = params.get("sort") || "lastSeen", asc = params.get("order") === "asc";
      var head = el("tr", {}, COLUMNS.map(function (c) {
        var th = el("th", { text: c[1] });
        if (c[0]) {
          th.className = "sortable" + (c[0] === sort ? " sorted" + (asc ? " asc" : "") : "");
          th.setAttribute("data-sort", c[0]);
          th.addEventListener("click", function () {
            if (sort === c[0]) params.set("order", asc ? "desc" : "asc"); else { params.set("sort", c[0]); params.delete("order"); }
            params.delete("offset");
            go("/", params);
          });
        }
        return th;
      }));
      var rows = page.findings.map(function (f) {
        var link = el("a", { href: "#/finding/" + encodeURIComponent(f.id), text: f.message.length > 140 ? f.message.slice(0, 140) + "…" : f.message });
        var inst = f.vnfInstance ? el("a", { href: "#/instance/" + encodeURIComponent(f.vnfInstance), text: f.vnfInstance }) : el("span", { class: "muted", text: "—" });
        return el("tr", { "data-id": f.id }, [el("td", { text: when(f.lastSeen || f.time) }), el("td", {}, [sev(f.severityName)]),
          el("td", { text: f.technique }), el("td", { text: f.rule }), el("td", {}, [inst]), el("td", { text: objectText(f.object) }),
          el("td", { class: "msg" }, [link]), el("td", { text: String(f.count || 1) }), el("td", { text: f.status })]);
      });
      // data-query names the filters, sort and page the rows were drawn for (a test waits on it).
      var tbl = el("table", { id: "findings", "data-query": params.toString() }, [el("thead", {}, [head]), el("tbody", {}, rows)]);
      var first = page.total ? offset + 1 : 0, last = offset + page.findings.length;
      var prev = el("button", { id: "prev", text: "‹ Previous" }), next = el("button", { id: "next", text: "Next ›" });
      prev.disabled = offset === 0;
      next.disabled = last >= page.total;
      prev.addEventListener("click", function () { params.set("offset", Math.max(0, offset - limit)); go("/", params); });
      next.addEventListener("click", function () { params.set("offset", offset + limit); go("/", params); });
      box.replaceChildren(tbl, el("div", { class: "pager" }, [prev, next,
        el("span", { id: "page-info", class: "muted", text: first + "–" + last + " of " + page.total })]));
    }).catch(failed(function (err) { box.replaceChildren(el("p", { class: "error", text: err.message })); }));
  }

  // ---- a finding ----
  function findingPage(id) {
    get("findings/" + encodeURIComponent(id)).then(function (f) {
      var rows = [["ID", f.id], ["Cluster", f.cluster], ["Source", f.source], ["Rule", f.rule], ["FiGHT technique", f.technique],
        ["Mitigations", (f.mitigations || []).join(", ")], ["Action", f.action], ["Identity", f.identity],
        ["VNF instance", f.vnfInstance], ["VNF product", f.vnfProduct], ["Object", objectText(f.object)],
        ["First seen", when(f.firstSeen)], ["Last seen", when(f.lastSeen)], ["Count", String(f.count || 1)], ["Status", f.status],
        ["Resolved", when(f.resolved)]];
      var ev = f.evidence || {};
      Object.keys(ev).sort().forEach(function (k) { rows.push([k, ev[k]]); });
      var dl = el("dl", { class: "evidence", id: "evidence" });
      rows.forEach(function (r) {
        if (!r[1]) return;
        dl.appendChild(el("dt", { text: r[0] }));
        var dd = el("dd", { "data-key": r[0] });
        if (r[0] === "VNF instance") dd.appendChild(el("a", { href: "#/instance/" + encodeURIComponent(r[1]), text: r[1] }));
        else dd.textContent = r[1];
        dl.appendChild(dd);
      });
      view.replaceChildren(el("p", {}, [el("a", { href: "#/", text: "‹ Findings" })]),
        el("h1", {}, [sev(f.severityName), " ", f.rule]), el("p", { id: "finding-message", text: f.message }), el("div", { class: "panel" }, [dl]));
    }).catch(failed(showError));
  }

  // ---- a VNF instance ----
  var LIST_MAX = 25;
  function findingList(id, fs, empty) {
    if (!fs.length) return el("p", { id: id, class: "muted", text: empty });
    var more = fs.length > LIST_MAX ? el("p", { class: "muted", text: "the " + LIST_MAX + " most recent of " + fs.length }) : null;
    var tbl = el("table", { id: id }, [el("tbody", {}, fs.slice(0, LIST_MAX).map(function (f) {
      return el("tr", { "data-id": f.id }, [el("td", {}, [sev(f.severityName)]), el("td", { text: f.rule }), el("td", { text: objectText(f.object) }),
        el("td", { class: "msg" }, [el("a", { href: "#/finding/" + encodeURIComponent(f.id), text: f.message })]), el("td", { text: when(f.lastSeen) })]);
    }))]);
    return more ? el("div", {}, [tbl, more]) : tbl;
  }
  function instancePage(id) {
    get("instances/" + encodeURIComponent(id)).then(function (inst) {
      var tl = el("ol", { class: "timeline", id: "timeline" }, inst.timeline.map(function (c) {
        return el("li", {}, [el("strong", { text: c.state }), el("br"), el("span", { class: "muted", text: when(c.at) })]);
      }));
      view.replaceChildren(el("p", {}, [el("a", { href: "#/", text: "‹ Findings" })]),
        el("h1", { id: "instance-title", text: "VNF instance " + inst.id + (inst.product ? " (" + inst.product + ")" : "") }),
        el("p", { id: "instance-state", text: inst.state ? "State now: " + inst.state : "Not in the inventory in force" }),
        el("h2", { text: "Lifecycle" }), inst.timeline.length ? tl : el("p", { id: "timeline", class: "muted", text: inst.timelineError || "no recorded change" }),
        el("h2", { text: "Open findings" }), findingList("open-findings", inst.open, "none"),
        el("h2", { text: "Data left after termination" }), findingList("residual-findings", inst.residual, "none found by reconciliation"),
        el("h2", { text: "Who can reach it" }), findingList("reach-findings", inst.reach, "no posture finding names this instance (run vnfguard scan with a store)"),
        el("p", {}, [el("a", { href: "#/?instance=" + encodeURIComponent(inst.id) + "&range=all", id: "all-findings", text: "All " + inst.total + " findings of this instance ›" })]));
    }).catch(failed(showError));
  }

  function render() {
    generation++;
    if (timer) { clearInterval(timer); timer = null; }
    var r = route();
    var m;
    if ((m = r.path.match(/^\/finding\/(.+)$/))) findingPage(decodeURIComponent(m[1]));
    else if ((m = r.path.match(/^\/instance\/(.+)$/))) instancePage(decodeURIComponent(m[1]));
    else overview(r.params);
  }
  window.addEventListener("hashchange", render);
  render();
})();
