// What a browser does against server.mjs, headless: redirects followed one by one, cookies
// kept by hand, the provider's development login and consent forms submitted (any login),
// and the forms of hidden fields its device pages post (the user code, the confirmation)
// submitted as a browser's script or a click would.
//
//   follow(start, redirectUri, fail): from the authorize URL until a redirect reaches
//     redirectUri; that URL (with the code and state) is returned, not visited.
//   device(start, fail): from the verification URI (with the user code) until the
//     provider's success page; its text is returned.

const unescape = (v) => v.replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');

// The first form of `page` whose inputs are all hidden: its action and fields.
function hiddenForm(page) {
  const form = /<form[^>]*method="post"[^>]*action="([^"]+)"[^>]*>([\s\S]*?)<\/form>/.exec(page);
  if (!form) return undefined;
  const fields = {};
  for (const m of form[2].matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)"\/>/g)) fields[m[1]] = unescape(m[2]);
  return Object.keys(fields).length ? { action: unescape(form[1]), fields } : undefined;
}

async function browse(start, until, fail) {
  let request = { url: new URL(start), method: 'GET' };
  const cookies = new Map();
  const trail = [];
  for (let step = 0; step < 16; step++) {
    trail.push(`${request.method} ${request.url.pathname}`);
    if (until(request.url)) return request.url;
    const cookie = [...cookies].map(([k, v]) => `${k}=${v}`).join('; ');
    const headers = { cookie };
    if (request.body) headers['content-type'] = 'application/x-www-form-urlencoded';
    const response = await fetch(request.url, { method: request.method, headers, body: request.body, redirect: 'manual' });
    for (const set of response.headers.getSetCookie()) {
      const [pair] = set.split(';');
      const at = pair.indexOf('=');
      if (at > 0) cookies.set(pair.slice(0, at).trim(), pair.slice(at + 1));
    }
    const next = response.headers.get('location');
    if (response.status >= 300 && response.status < 400 && next) {
      request = { url: new URL(next, request.url), method: 'GET' };
      continue;
    }
    const page = await response.text();
    if (response.status !== 200) fail(`expected a page or a redirect from ${request.url.href}, found ${response.status}: ${page}`);
    if (until(request.url, page)) return page;
    const prompt = ['login', 'consent'].find((p) => page.includes(`name="prompt" value="${p}"`));
    const hidden = hiddenForm(page);
    if (prompt) {
      const form = prompt === 'login' ? { prompt, login: 'ada', password: 'any' } : { prompt };
      request = { url: request.url, method: 'POST', body: new URLSearchParams(form) };
    } else if (hidden) {
      request = { url: new URL(hidden.action, request.url), method: 'POST', body: new URLSearchParams(hidden.fields) };
    } else {
      fail(`expected a login, consent or hidden form at ${request.url.href}, found:\n${page}`);
    }
  }
  fail(`expected the flow to end within 16 steps, found ${trail.join(' → ')}`);
}

export async function follow(start, redirectUri, fail) {
  return browse(start, (url, page) => page === undefined && url.href.startsWith(redirectUri), fail);
}

export async function device(start, fail) {
  return browse(start, (_url, page) => page !== undefined && page.includes('Sign-in Success'), fail);
}
