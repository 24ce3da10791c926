// Every change goes through the JSON API with the page's CSRF token; errors show in the
// banner. Forms: data-api (endpoint, "{name}" filled from a data-path field),
// data-confirm, data-reload, data-result (where to print the answer).
(function () {
  const token = () => document.querySelector('meta[name="csrf-token"]').content;
  const banner = (text, kind) => {
    const el = document.getElementById('banner');
    el.textContent = text; el.className = 'banner ' + (kind || ''); el.hidden = !text;
  };
  function collect(form) {
    const data = {};
    let url = form.dataset.api;
    for (const el of form.elements) {
      if (!el.name) continue;
      let v = el.type === 'checkbox' ? el.checked : el.value;
      if (el.dataset.type === 'int') v = Number.parseInt(v, 10);
      if (el.dataset.type === 'bool' && el.type !== 'checkbox') v = v === 'true';
      if (el.dataset.type === 'ms') v = el.value ? new Date(el.value).getTime() : null;
      if ('path' in el.dataset) { url = url.replace('{' + el.name + '}', encodeURIComponent(v)); continue; }
      data[el.name] = v;
    }
    return [url, data];
  }
  document.addEventListener('submit', async (event) => {
    const form = event.target;
    if (!form.dataset.api) return;
    event.preventDefault();
    if (form.dataset.confirm && !window.confirm(form.dataset.confirm)) return;
    const [url, data] = collect(form);
    banner('');
    let answer;
    try {
      const response = await fetch(url, { method: 'POST', headers: { 'Content-Type': 'application/json', 'X-CSRF-Token': token() }, body: JSON.stringify(data) });
      answer = await response.json();
      if (!response.ok) { banner(response.status + ' ' + (answer.error || response.statusText), 'error'); return; }
    } catch (err) { banner(String(err), 'error'); return; }
    if (form.dataset.result) document.querySelector(form.dataset.result).textContent = JSON.stringify(answer, null, 2);
    if ('reload' in form.dataset) window.location.reload();
  });
  // Time pickers fill hidden millisecond fields before a GET query is sent.
  document.addEventListener('submit', (event) => {
    const form = event.target;
    if (!('times' in form.dataset)) return;
    for (const picker of form.querySelectorAll('[data-ms-into]')) {
      if (picker.value) form.elements[picker.dataset.msInto].value = new Date(picker.value).getTime();
    }
  }, true);
  function charts() {
    const holder = document.getElementById('dashboard-data');
    if (!holder || !window.Chart) return;
    const data = JSON.parse(holder.textContent);
    const tps = document.getElementById('tps-chart');
    if (tps && data.points.length) {
      const brokers = [...new Set(data.points.flatMap((p) => Object.keys(p.brokers)))];
      const labels = data.points.map((p) => new Date(p.t).toLocaleTimeString());
      const sets = brokers.flatMap((b) => [
        { label: b + ' in', data: data.points.map((p) => (p.brokers[b] || [0, 0])[0]) },
        { label: b + ' out', data: data.points.map((p) => (p.brokers[b] || [0, 0])[1]) }]);
      new window.Chart(tps, { type: 'line', data: { labels, datasets: sets }, options: { animation: false } });
    }
    const topicTps = document.getElementById('topic-tps-chart');
    if (topicTps && data.points.length > 1) {
      const pts = data.points;
      const topics = [...new Set(pts.flatMap((p) => Object.keys(p.topics || {})))];
      const labels = pts.slice(1).map((p) => new Date(p.t).toLocaleTimeString());
      const rate = (t, i) => {
        const a = (pts[i].topics || {})[t]; const b = (pts[i + 1].topics || {})[t];
        if (a === undefined || b === undefined) return null;
        return Math.max(0, (b - a) * 1000 / Math.max(1, pts[i + 1].t - pts[i].t));
      };
      const sets = topics.map((t) => ({ label: t, data: pts.slice(1).map((_, i) => rate(t, i)) }));
      new window.Chart(topicTps, { type: 'line', data: { labels, datasets: sets }, options: { animation: false } });
    }
    const top = document.getElementById('top-chart');
    if (top && data.top.length) {
      new window.Chart(top, { type: 'bar', data: { labels: data.top.map((t) => t.topic), datasets: [{ label: 'messages', data: data.top.map((t) => t.messages) }] }, options: { animation: false } });
    }
  }
  window.addEventListener('load', charts);
}());
