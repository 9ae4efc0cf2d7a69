// The problem board: one EventSource on /board/events, the cards kept by id, the page redrawn from them.
// Everything the server sends is put in the page as text (textContent), never as markup.
"use strict";

(() => {
  const SVG = "http://www.w3.org/2000/svg";
  const cards = new Map();
  let opened = false; // the first picture is not news: only what arrives after it is highlighted
  const highlight = new Map(); // problem id -> "fresh" | "changed", for the next draw

  const KNOWN = {
    investigating: "investigating",
    workaround_available: "workaround",
    fix_available: "fix available",
  };

  function el(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  function ago(iso) {
    if (!iso) return "";
    const seconds = Math.max(0, (Date.now() - Date.parse(iso)) / 1000);
    if (seconds < 45) return "just now";
    if (seconds < 3600) return `${Math.round(seconds / 60)} min ago`;
    if (seconds < 86400) return `${Math.round(seconds / 3600)} h ago`;
    return `${Math.round(seconds / 86400)} d ago`;
  }

  function timeNode(iso, prefix) {
    const node = el("time");
    if (iso) {
      node.dateTime = iso;
      node.dataset.prefix = prefix || "";
      node.title = new Date(iso).toLocaleString();
      node.textContent = (prefix || "") + ago(iso);
    }
    return node;
  }

  function sparkline(spark) {
    const counts = spark.customers;
    const width = 150, height = 46, gap = 3;
    const step = width / counts.length;
    const top = Math.max(1, ...counts);
    const svg = document.createElementNS(SVG, "svg");
    svg.setAttribute("viewBox", `0 0 ${width} ${height}`);
    svg.setAttribute("role", "img");
    svg.setAttribute("aria-label", `customers per ${spark.bucket_minutes} minutes over the last hour: ${counts.join(", ")}`);
    const start = Date.parse(spark.starts_at);
    counts.forEach((count, i) => {
      const bar = document.createElementNS(SVG, "rect");
      const h = count === 0 ? 2 : Math.max(4, (count / top) * (height - 2));
      bar.setAttribute("x", (i * step + gap / 2).toFixed(1));
      bar.setAttribute("y", (height - h).toFixed(1));
      bar.setAttribute("width", (step - gap).toFixed(1));
      bar.setAttribute("height", h.toFixed(1));
      bar.setAttribute("rx", "2");
      bar.setAttribute("class", count === 0 ? "bar zero" : "bar");
      const title = document.createElementNS(SVG, "title");
      const at = new Date(start + i * spark.bucket_minutes * 60000);
      title.textContent = `${at.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" })}: ${count} customer${count === 1 ? "" : "s"}`;
      bar.appendChild(title);
      svg.appendChild(bar);
    });
    return svg;
  }

  function figure(value, label, className) {
    const node = el("div", `figure ${className || ""}`);
    node.append(el("b", "", value), el("span", "", label));
    return node;
  }

  function knownIssue(known, problem) {
    if (!known) {
      const none = el("div", "known none", problem.status === "resolved" ? "" : "No known issue yet: knowledge has not written one.");
      return none;
    }
    const node = el("div", `known ${known.status}`);
    node.append(el("span", "state", KNOWN[known.status] || known.status), el("span", "title", known.title));
    const fix = known.fix_version ? `Fix expected in ${known.fix_version}.` : "";
    const said = [known.workaround ? `Workaround: ${known.workaround}` : "", known.fix || "", fix].filter(Boolean).join(" ");
    if (said) node.append(el("p", "", said));
    return node;
  }

  function openCard(problem) {
    const card = el("article", `card ${problem.severity}`);
    card.dataset.problemId = problem.id;
    const head = el("div", "card-head");
    head.append(el("span", `badge ${problem.severity}`, problem.severity));
    if (problem.escalated_at) head.append(el("span", "badge status", "escalated"));
    if (highlight.get(problem.id) === "fresh") head.append(el("span", "badge new", "new"));
    const since = el("span", "since");
    since.append(timeNode(problem.detected_at || problem.first_seen, "detected "));
    head.append(since);
    card.append(head, el("h3", "", problem.summary));
    const tags = el("div", "tags");
    [...problem.products, ...problem.intents].forEach((tag) => tags.append(el("span", "tag", tag)));
    if (tags.childElementCount) card.append(tags);

    const figures = el("div", "figures");
    figures.append(
      figure(problem.customer_count, "customers", "customers"),
      figure(problem.report_count, "reports"),
      figure(`${problem.growth_per_hour}`, "new customers / h", "growth"),
    );
    const spark = el("div", "spark");
    spark.append(sparkline(problem.spark), el("span", "", `customers / ${problem.spark.bucket_minutes} min, last hour`));
    figures.append(spark);
    card.append(figures, knownIssue(problem.known_issue, problem));

    const reports = el("ul", "reports");
    reports.setAttribute("aria-label", "latest reports");
    problem.latest_reports.forEach((report) => {
      const item = el("li");
      item.append(el("span", "channel", report.channel), el("span", "subject", report.subject), timeNode(report.opened_at));
      item.querySelector(".subject").title = report.subject;
      reports.append(item);
    });
    card.append(reports);
    return card;
  }

  function row(problem) {
    const node = el("div", `row ${problem.status}`);
    node.dataset.problemId = problem.id;
    const what = el("span", "what", problem.summary);
    what.title = problem.resolution ? `${problem.summary} — ${problem.resolution}` : problem.summary;
    node.append(what, el("span", "count", `${problem.customer_count} customers · ${problem.report_count} reports`));
    node.append(problem.status === "resolved" ? timeNode(problem.resolved_at, "resolved ") : timeNode(problem.last_seen, "last "));
    return node;
  }

  const bySeverityThenGrowth = (a, b) =>
    (b.severity === "major") - (a.severity === "major") ||
    b.growth_per_hour - a.growth_per_hour ||
    b.customer_count - a.customer_count ||
    Date.parse(b.last_seen) - Date.parse(a.last_seen);
  const byLatest = (field) => (a, b) => Date.parse(b[field]) - Date.parse(a[field]);

  function fill(containerId, problems, build) {
    const container = document.getElementById(containerId);
    const nodes = problems.map((problem) => {
      const node = build(problem);
      const mark = highlight.get(problem.id);
      if (mark) node.classList.add(mark);
      return node;
    });
    container.replaceChildren(...nodes);
    document.getElementById(`${containerId}-empty`).hidden = nodes.length > 0;
  }

  function draw() {
    const all = [...cards.values()];
    const open = all.filter((p) => p.status === "open").sort(bySeverityThenGrowth);
    const forming = all.filter((p) => p.status === "forming").sort(byLatest("last_seen"));
    const resolved = all.filter((p) => p.status === "resolved").sort(byLatest("resolved_at"));
    fill("open", open, openCard);
    fill("forming", forming, row);
    fill("resolved", resolved, row);
    highlight.clear();
    document.getElementById("total-open").textContent = open.length;
    document.getElementById("total-major").textContent = open.filter((p) => p.severity === "major").length;
    document.getElementById("total-customers").textContent = open.reduce((sum, p) => sum + p.customer_count, 0);
    document.getElementById("total-forming").textContent = forming.length;
    document.title = `${open.length ? `(${open.length}) ` : ""}Problem board · firstcall`;
  }

  function tick() {
    document.querySelectorAll("time[datetime]").forEach((node) => {
      node.textContent = (node.dataset.prefix || "") + ago(node.dateTime);
    });
  }

  function live(state, text) {
    const node = document.getElementById("live");
    node.className = `live ${state}`;
    node.textContent = text;
  }

  function connect() {
    const source = new EventSource("/board/events");
    source.addEventListener("open", () => live("on", "live"));
    source.addEventListener("board", (message) => {
      const picture = JSON.parse(message.data);
      cards.clear();
      picture.problems.forEach((problem) => cards.set(problem.id, problem));
      opened = true;
      document.getElementById("read-at").textContent = `Read ${new Date(picture.read_at || Date.now()).toLocaleTimeString()}; updates as they happen.`;
      draw();
    });
    source.addEventListener("problem", (message) => {
      const { change, problem } = JSON.parse(message.data);
      if (opened) highlight.set(problem.id, cards.has(problem.id) && change !== "detected" ? "changed" : "fresh");
      cards.set(problem.id, problem);
      draw();
    });
    source.addEventListener("removed", (message) => {
      cards.delete(JSON.parse(message.data).problem_id);
      draw();
    });
    source.addEventListener("error", () => {
      if (source.readyState === EventSource.CLOSED) {
        // Refused (the key was revoked or the session ended): the page itself says why, or asks again.
        live("connecting", "signed out?");
        setTimeout(() => window.location.reload(), 5000);
      } else {
        live("connecting", "reconnecting…");
      }
    });
  }

  document.addEventListener("DOMContentLoaded", () => {
    connect();
    setInterval(tick, 30000);
  });
})();
