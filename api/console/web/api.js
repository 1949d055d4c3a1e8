// The controller's /v1 API as the console calls it. The token lives in sessionStorage (this tab only, gone
// when it closes) and goes out only in the Authorization header: never in a cookie or a URL.

const TOKEN_KEY = 'certdeploy.token';

export class ApiError extends Error {
    // problem: the API's RFC 9457 document ({code, title, detail, status}).
    constructor(problem) {
        super(problem.detail || problem.title || 'The controller refused the request.');
        this.code = problem.code || 'error';
        this.status = problem.status || 0;
        this.title = problem.title || '';
        this.problem = problem;
    }
}

export function token() {
    return sessionStorage.getItem(TOKEN_KEY);
}

export function setToken(value) {
    if (value) {
        sessionStorage.setItem(TOKEN_KEY, value);
    } else {
        sessionStorage.removeItem(TOKEN_KEY);
    }
}

// Sign-out on 401: the app listens and shows the sign-in form with the API's message.
export const authEvents = new EventTarget();

async function problemOf(res) {
    const type = res.headers.get('Content-Type') || '';
    if (type.includes('json')) {
        try {
            return new ApiError(await res.json());
        } catch {
            // falls through: a body that is not the problem it claims to be
        }
    }
    return new ApiError({
        code: 'unexpected-answer', status: res.status,
        detail: `The controller (or a proxy before it) answered without an explanation (HTTP ${res.status}).`,
    });
}

function unreachable() {
    return new ApiError({
        code: 'controller-unreachable',
        detail: 'The controller cannot be reached: check that it is running and that this network reaches it.',
    });
}

function headers(extra = {}) {
    const out = {...extra};
    const t = token();
    if (t) {
        out.Authorization = `Bearer ${t}`;
    }
    return out;
}

// call('GET', '/v1/servers', {query: {limit: 100}}) -> parsed JSON (null for 204).
// {json}: a JSON body; {form}: a FormData body; {raw: true}: the Response itself (a download).
export async function call(method, path, {query, json, form, raw, extraHeaders} = {}) {
    const url = new URL(path, location.origin);
    for (const [key, value] of Object.entries(query || {})) {
        if (value !== undefined && value !== null && value !== '') {
            url.searchParams.set(key, value);
        }
    }
    const init = {method, headers: headers(extraHeaders), cache: 'no-store', credentials: 'omit'};
    if (json !== undefined) {
        init.headers['Content-Type'] = 'application/json';
        init.body = JSON.stringify(json);
    } else if (form) {
        init.body = form;
    }
    let res;
    try {
        res = await fetch(url, init);
    } catch {
        throw unreachable();
    }
    if (!res.ok) {
        const error = await problemOf(res);
        if (res.status === 401) {
            authEvents.dispatchEvent(new CustomEvent('unauthenticated', {detail: error}));
        }
        throw error;
    }
    if (raw) {
        return res;
    }
    if (res.status === 204) {
        return null;
    }
    return res.json();
}

// Every page of a listing: {key: 'servers'} of {servers: [...], next}.
export async function callAll(path, key, query = {}) {
    const all = [];
    let after;
    for (let pages = 0; pages < 100; pages++) {
        const page = await call('GET', path, {query: {...query, limit: 1000, after}});
        all.push(...page[key]);
        if (!page.next) {
            break;
        }
        after = page.next;
    }
    return all;
}

// Follows a job's Server-Sent Events (GET /v1/jobs/{id}/events) until `done` or until `signal` aborts.
// EventSource cannot send an Authorization header, so the stream is read with fetch; a dropped stream is
// resumed with Last-Event-ID, the controller's event log being the truth. onEvent(type, data).
// `after`: an event id already seen (a retried job's stream then shows only the new run). Answers the last
// event's id.
export async function followJob(id, onEvent, signal, after = null) {
    let lastId = after;
    let failures = 0;
    while (!signal?.aborted) {
        const extra = {Accept: 'text/event-stream'};
        if (lastId) {
            extra['Last-Event-ID'] = lastId;
        }
        let res;
        try {
            res = await fetch(`/v1/jobs/${encodeURIComponent(id)}/events`,
                {headers: headers(extra), cache: 'no-store', credentials: 'omit', signal});
        } catch (e) {
            if (signal?.aborted) {
                return lastId;
            }
            res = null;
        }
        if (res && !res.ok) {
            throw await problemOf(res);
        }
        if (res) {
            const done = await readEvents(res.body, (type, data, eventId) => {
                if (eventId) {
                    lastId = eventId;
                }
                failures = 0;
                onEvent(type, data);
            }).catch(() => false);
            if (done) {
                return lastId;
            }
        }
        failures += 1;
        if (failures > 30) {
            throw unreachable();
        }
        await new Promise((resolve) => setTimeout(resolve, Math.min(500 * failures, 5000)));
    }
    return lastId;
}

// Parses text/event-stream; answers true once the `done` event came.
async function readEvents(body, deliver) {
    const reader = body.pipeThrough(new TextDecoderStream()).getReader();
    let buffer = '';
    let event = {type: 'message', data: [], id: null};
    for (;;) {
        const {value, done} = await reader.read();
        if (done) {
            return false;
        }
        buffer += value;
        let newline;
        while ((newline = buffer.indexOf('\n')) >= 0) {
            const line = buffer.slice(0, newline).replace(/\r$/, '');
            buffer = buffer.slice(newline + 1);
            if (line === '') {
                if (event.data.length) {
                    deliver(event.type, JSON.parse(event.data.join('\n')), event.id);
                    if (event.type === 'done') {
                        reader.cancel().catch(() => {});
                        return true;
                    }
                }
                event = {type: 'message', data: [], id: null};
            } else if (line.startsWith('event:')) {
                event.type = line.slice(6).trim();
            } else if (line.startsWith('data:')) {
                event.data.push(line.slice(5).replace(/^ /, ''));
            } else if (line.startsWith('id:')) {
                event.id = line.slice(3).trim();
            }
        }
    }
}
