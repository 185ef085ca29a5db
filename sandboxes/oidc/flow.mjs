// The part of the authorization code flow a browser does against server.mjs: from the
// authorize URL, the provider's development login and consent forms submitted (any login),
// cookies kept by hand, redirects followed one by one, until a redirect reaches
// `redirectUri`; that URL (with the code and state) is returned, not visited.

export async function follow(start, redirectUri, fail) {
  let url = new URL(start);
  const cookies = new Map();
  const trail = [];
  for (let step = 0; step < 12; step++) {
    trail.push(url.pathname);
    if (url.href.startsWith(redirectUri)) return url;
    const cookie = [...cookies].map(([k, v]) => `${k}=${v}`).join('; ');
    let response = await fetch(url, { headers: { cookie }, redirect: 'manual' });
    if (response.status === 200 && url.pathname.startsWith('/interaction/')) {
      // the login or consent form: submit it as the page says
      const page = await response.text();
      const prompt = ['login', 'consent'].find((p) => page.includes(`name="prompt" value="${p}"`));
      if (!prompt) fail(`expected a login or consent form at ${url.href}, found:\n${page}`);
      const form = prompt === 'login' ? { prompt, login: 'ada', password: 'any' } : { prompt };
      response = await fetch(url, {
        method: 'POST',
        headers: { cookie, 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams(form),
        redirect: 'manual',
      });
    }
    for (const set of response.headers.getSetCookie()) {
      const [pair] = set.split(';');
      const at = pair.indexOf('=');
      if (at > 0) cookies.set(pair.slice(0, at).trim(), pair.slice(at + 1));
    }
    const next = response.headers.get('location');
    if (!(response.status >= 300 && response.status < 400) || !next) {
      fail(`expected a redirect from ${url.href}, found ${response.status}: ${await response.text()}`);
    }
    url = new URL(next, url);
  }
  fail(`expected the flow to reach ${redirectUri} within 12 steps, found ${trail.join(' → ')}`);
}
