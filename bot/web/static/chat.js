// Web chat page of Together Bot.
//
// Talks to the JSON API of bot/adapters/webchat.py: history on load, a long-poll loop for
// messages that arrive later, and POSTs for text, choices and uploads. Everything the
// server sends is rendered as text (textContent), never as HTML.
"use strict";

(() => {
  const API = {
    history: "/api/chat/history",
    poll: "/api/chat/poll",
    message: "/api/chat/message",
    upload: "/api/chat/upload",
  };
  // The server answers a poll after ~25 s; a little more than that means the line is dead.
  const POLL_TIMEOUT_MS = 40_000;
  const REQUEST_TIMEOUT_MS = 60_000;
  const BACKOFF_FIRST_MS = 1_000;
  const BACKOFF_MAX_MS = 30_000;
  const NEAR_BOTTOM_PX = 120;
  const LINK_PROTOCOLS = new Set(["http:", "https:", "mailto:", "sms:"]);
  const MEDIA_PROTOCOLS = new Set(["http:", "https:"]);
  const MEDIA_ICONS = { photo: "\u{1F4F7}", voice: "\u{1F3A4}", video: "\u{1F3AC}", document: "\u{1F4C4}" };
  // Used only when the server's strings carry no media_<kind> label.
  const MEDIA_FALLBACK_LABELS = { photo: "Photo", voice: "Voice message", video: "Video", document: "Document" };

  const root = document.documentElement;
  const el = {
    log: byId("log"),
    composer: byId("composer"),
    input: byId("input"),
    send: byId("send"),
    attach: byId("attach"),
    file: byId("file"),
    errorBox: byId("error-box"),
    error: byId("error"),
    retry: byId("retry"),
    status: byId("status"),
    progress: byId("progress"),
  };

  const strings = Object.assign({}, readJson("strings"));
  const csrfToken = document.querySelector('meta[name="csrf-token"]')?.content ?? "";
  const maxUploadBytes = Number(document.body.dataset.maxUploadBytes) || 0;

  /** Rendered messages by id; messages never change once sent, so an id is enough. */
  const rendered = new Map();
  let lastId = 0;
  /** The send in flight, or the last one that failed (kept for Retry with its client_id). */
  let pending = null;
  let busy = false;
  let stickToBottom = true;
  let wakePoller = null;

  class ApiError extends Error {
    constructor(message, retryable) {
      super(message);
      this.retryable = retryable;
    }
  }

  // ---------------------------------------------------------------- small helpers

  function byId(id) {
    return document.getElementById(id);
  }

  function readJson(id) {
    try {
      return JSON.parse(byId(id)?.textContent || "null");
    } catch {
      return null;
    }
  }

  function t(key) {
    const value = strings[key];
    return typeof value === "string" ? value : "";
  }

  function make(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text) node.textContent = text;
    return node;
  }

  function newClientId() {
    if (typeof crypto.randomUUID === "function") return crypto.randomUUID();
    // randomUUID needs a secure context; a phone on the LAN (plain http) has only this.
    const b = crypto.getRandomValues(new Uint8Array(16));
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    const h = Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
    return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
  }

  function safeUrl(value, protocols) {
    if (typeof value !== "string" || !value) return null;
    try {
      const url = new URL(value, location.href);
      return protocols.has(url.protocol) ? url.href : null;
    } catch {
      return null;
    }
  }

  function openInNewTab(link, href) {
    link.href = href;
    link.target = "_blank";
    link.rel = "noopener";
    link.referrerPolicy = "no-referrer";
  }

  function currentLang() {
    return root.lang || "en";
  }

  function sleep(ms) {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        if (wakePoller === done) wakePoller = null;
        resolve();
      };
      const timer = setTimeout(done, ms);
      wakePoller = done;
    });
  }

  // ---------------------------------------------------------------- HTTP

  function errorFor(status, data) {
    let message = data && typeof data.error === "string" && data.error ? data.error : "";
    // A proxy in front of the app may refuse a big upload without the JSON body.
    if (!message && status === 413) message = tooLargeMessage();
    message = message || t("error_generic") || "Error";
    const retryable = status === 0 || status === 408 || status === 429 || status >= 500;
    return new ApiError(message, retryable);
  }

  function networkError() {
    return new ApiError(t("error_network") || t("error_generic") || "Network error", true);
  }

  function parseBody(text) {
    try {
      return JSON.parse(text);
    } catch {
      return null;
    }
  }

  function resultOf(status, text) {
    const data = parseBody(text);
    if (status >= 200 && status < 300 && data && typeof data === "object") return data;
    throw errorFor(status >= 200 && status < 300 ? 500 : status, data);
  }

  async function requestJson(url, { json, timeoutMs = REQUEST_TIMEOUT_MS } = {}) {
    const post = json !== undefined;
    const headers = { Accept: "application/json" };
    if (post) {
      headers["Content-Type"] = "application/json";
      headers["X-CSRF-Token"] = csrfToken;
    }
    const abort = new AbortController();
    const timer = setTimeout(() => abort.abort(), timeoutMs);
    let status;
    let text;
    try {
      const response = await fetch(url, {
        method: post ? "POST" : "GET",
        headers,
        body: post ? JSON.stringify(json) : undefined,
        credentials: "same-origin",
        cache: "no-store",
        signal: abort.signal,
      });
      status = response.status;
      text = await response.text();
    } catch {
      throw networkError();
    } finally {
      clearTimeout(timer);
    }
    return resultOf(status, text);
  }

  // XHR rather than fetch: only XHR reports upload progress, which matters for a video
  // on a weak connection. No timeout: a slow upload is still progressing.
  function uploadFile(form, onProgress) {
    return new Promise((resolve, reject) => {
      const xhr = new XMLHttpRequest();
      xhr.open("POST", API.upload);
      xhr.setRequestHeader("Accept", "application/json");
      xhr.setRequestHeader("X-CSRF-Token", csrfToken);
      xhr.upload.addEventListener("progress", (event) => {
        if (event.lengthComputable && event.total > 0) onProgress(event.loaded / event.total);
      });
      xhr.addEventListener("load", () => {
        try {
          resolve(resultOf(xhr.status, xhr.responseText));
        } catch (err) {
          reject(err);
        }
      });
      xhr.addEventListener("error", () => reject(networkError()));
      xhr.addEventListener("abort", () => reject(networkError()));
      xhr.send(form);
    });
  }

  // ---------------------------------------------------------------- rendering

  function normalise(raw) {
    if (!raw || typeof raw !== "object") return null;
    const id = Number(raw.id);
    if (!Number.isSafeInteger(id)) return null;
    return {
      id,
      from: raw.from === "user" ? "user" : "bot",
      text: typeof raw.text === "string" ? raw.text : "",
      choices: Array.isArray(raw.choices) ? raw.choices.filter((c) => c && typeof c === "object") : [],
      media: Array.isArray(raw.media) ? raw.media.filter((m) => m && typeof m === "object") : [],
      at: typeof raw.at === "string" ? raw.at : "",
      locale: typeof raw.locale === "string" ? raw.locale : "",
      dir: raw.dir === "rtl" || raw.dir === "ltr" ? raw.dir : "",
      digits: typeof raw.digits === "string" ? raw.digits : "",
    };
  }

  function renderMessage(msg) {
    const node = make("div", `msg msg--${msg.from}`);
    node.dataset.id = String(msg.id);
    node.dataset.from = msg.from;
    if (msg.locale) node.lang = msg.locale;

    node.append(make("span", "visually-hidden", t(msg.from === "user" ? "you" : "bot")));

    const bubble = make("div", "bubble");
    if (msg.text) {
      const text = make("p", "text", msg.text);
      text.dir = "auto";
      bubble.append(text);
    }
    for (const media of msg.media) bubble.append(renderMedia(media));
    node.append(bubble);

    if (msg.choices.length) node.append(renderChoices(msg.choices));

    const time = renderTime(msg.at, msg.locale || currentLang(), msg.digits);
    if (time) node.append(time);
    return node;
  }

  function mediaLabel(kind) {
    return t(`media_${kind}`) || MEDIA_FALLBACK_LABELS[kind];
  }

  function renderMediaChip(kind, url) {
    const chip = make(url ? "a" : "span", `chip chip--${kind}`);
    if (url) openInNewTab(chip, url);
    const icon = make("span", "chip-icon", MEDIA_ICONS[kind]);
    icon.setAttribute("aria-hidden", "true");
    chip.append(icon, make("span", "chip-label", mediaLabel(kind)));
    return chip;
  }

  function renderMedia(media) {
    const kind = Object.prototype.hasOwnProperty.call(MEDIA_ICONS, media.kind) ? media.kind : "document";
    const url = safeUrl(media.url, MEDIA_PROTOCOLS);
    // The moderator's description of a story's published file, when there is one.
    const alt = typeof media.alt === "string" && media.alt ? media.alt : "";
    if ((kind === "voice" || kind === "video") && url) return renderPlayer(kind, url, alt);
    if (kind !== "photo" || !url) return renderMediaChip(kind, url);

    const img = make("img", "photo");
    img.alt = alt || mediaLabel(kind);
    img.decoding = "async";
    img.loading = "lazy";
    img.addEventListener("load", () => {
      if (stickToBottom) scrollToBottom();
    });
    // A photo that fails on a weak line still leaves a link to try again later.
    img.addEventListener("error", () => img.replaceWith(renderMediaChip(kind, url)));
    img.src = safeUrl(media.thumb, MEDIA_PROTOCOLS) || url;
    return img;
  }

  // A story's voice note or video, played in the chat (the wall serves ranges).
  function renderPlayer(kind, url, alt) {
    const player = make(kind === "voice" ? "audio" : "video", `player player--${kind}`);
    player.controls = true;
    player.preload = "none";
    player.setAttribute("aria-label", alt || mediaLabel(kind));
    player.addEventListener("loadedmetadata", () => {
      if (stickToBottom) scrollToBottom();
    });
    player.src = url;
    const wrap = make("div", "media-player");
    // Where a browser cannot play the format, the file can still be opened.
    wrap.append(player, renderMediaChip(kind, url));
    return wrap;
  }

  function renderChoices(choices) {
    const group = make("div", "choices");
    group.setAttribute("role", "group");
    for (const choice of choices) {
      const id = typeof choice.id === "string" || typeof choice.id === "number" ? String(choice.id) : "";
      const label = typeof choice.label === "string" ? choice.label : id;
      const href = safeUrl(choice.url, LINK_PROTOCOLS);
      let item;
      if (href) {
        item = make("a", "choice choice--link", label);
        openInNewTab(item, href);
      } else {
        item = make("button", "choice", label);
        item.type = "button";
      }
      item.dir = "auto";
      item.dataset.choice = id;
      group.append(item);
    }
    return group;
  }

  const timeFormats = new Map();

  function browserKnows(lang) {
    try {
      return Intl.DateTimeFormat.supportedLocalesOf([lang]).length > 0;
    } catch {
      return false;
    }
  }

  /**
   * A message's time in the reader's time zone, written the conversation's way: its
   * language's format and its digits (the server names them: "arab", "beng"…). A
   * language the browser has no data for (Pashto, Somali, Tigrinya in Chromium) gets
   * a neutral 24-hour time in its digits, not English's "10:12 PM".
   */
  function formatTime(date, lang, digits) {
    const sameDay = date.toDateString() === new Date().toDateString();
    const key = `${lang}|${digits}|${sameDay}`;
    if (!timeFormats.has(key)) {
      const numbering = /^[a-z]{3,8}$/.test(digits) ? `-u-nu-${digits}` : "";
      let locale = lang;
      let options = sameDay ? { timeStyle: "short" } : { dateStyle: "medium", timeStyle: "short" };
      if (!browserKnows(lang)) {
        locale = "en-GB";
        const time = { hour: "2-digit", minute: "2-digit", hourCycle: "h23" };
        options = sameDay ? time : { year: "numeric", month: "2-digit", day: "2-digit", ...time };
      }
      let format;
      try {
        format = new Intl.DateTimeFormat(locale + numbering, options);
      } catch {
        format = new Intl.DateTimeFormat(undefined, options);
      }
      timeFormats.set(key, format);
    }
    return timeFormats.get(key).format(date);
  }

  function renderTime(at, lang, digits) {
    const date = at ? new Date(at) : null;
    if (!date || Number.isNaN(date.getTime())) return null;
    const time = make("time", "time", formatTime(date, lang, digits));
    time.dateTime = at;
    return time;
  }

  function insertInOrder(node, id) {
    // New messages nearly always go last, so walk from the end.
    let before = null;
    for (let other = el.log.lastElementChild; other; other = other.previousElementSibling) {
      if (Number(other.dataset.id) > id) before = other;
      else break;
    }
    el.log.insertBefore(node, before);
  }

  function isNearBottom() {
    const log = el.log;
    return log.scrollHeight - log.scrollTop - log.clientHeight < NEAR_BOTTOM_PX;
  }

  function scrollToBottom() {
    el.log.scrollTop = el.log.scrollHeight;
    stickToBottom = true;
  }

  /** The server says the transcript was cleared ("erase everything"): start over. */
  function resetLog() {
    el.log.replaceChildren();
    rendered.clear();
    lastId = 0;
  }

  /**
   * Adds the messages not yet shown (by id, in id order) and returns whether any was new.
   * With `reset`, what is shown is dropped first and the list is the whole transcript.
   */
  function merge(list, { scroll = false, reset = false } = {}) {
    if (reset === true) resetLog();
    if (!Array.isArray(list)) return reset === true;
    const follow = scroll || stickToBottom || isNearBottom();
    let added = false;
    let fromUser = false;
    for (const raw of list) {
      const msg = normalise(raw);
      if (!msg || rendered.has(msg.id)) continue;
      const node = renderMessage(msg);
      rendered.set(msg.id, msg);
      insertInOrder(node, msg.id);
      lastId = Math.max(lastId, msg.id);
      added = true;
      if (msg.from === "user") fromUser = true;
    }
    if (!added) {
      if (reset === true) refreshChoices();
      return reset === true;
    }
    refreshChoices();
    followNewestLocale();
    if (follow || fromUser) scrollToBottom();
    return true;
  }

  function lastBotMessage() {
    for (let node = el.log.lastElementChild; node; node = node.previousElementSibling) {
      if (node.dataset.from === "bot") return node;
    }
    return null;
  }

  /** Only the newest bot message's choices can be used, and none while a send is in flight. */
  function refreshChoices() {
    const current = lastBotMessage();
    const focused = document.activeElement;
    let lostFocus = false;
    for (const group of el.log.querySelectorAll(".choices")) {
      const active = group.parentElement === current;
      group.classList.toggle("is-stale", !active);
      for (const button of group.querySelectorAll("button[data-choice]")) {
        if (!active && button === focused) lostFocus = true;
        button.disabled = !active;
        // aria-disabled rather than disabled keeps keyboard focus on the clicked button.
        if (active && busy) button.setAttribute("aria-disabled", "true");
        else button.removeAttribute("aria-disabled");
      }
    }
    if (lostFocus) {
      const next = current?.querySelector(".choices [data-choice]");
      (next || el.log).focus({ preventScroll: true });
    }
  }

  // ---------------------------------------------------------------- locale and strings

  function applyLocale(locale, dir) {
    let changed = false;
    if (typeof locale === "string" && locale && locale !== root.lang) {
      root.lang = locale;
      changed = true;
    }
    if ((dir === "rtl" || dir === "ltr") && dir !== root.dir) {
      root.dir = dir;
      changed = true;
    }
    return changed;
  }

  /** The person may have just picked another language; the newest message carries it. */
  function followNewestLocale() {
    const newest = rendered.get(lastId);
    if (newest && newest.locale && applyLocale(newest.locale, newest.dir)) {
      // The history answer is authoritative for locale/dir (and may carry new UI strings).
      refreshFromHistory();
    }
  }

  async function refreshFromHistory() {
    try {
      const data = await requestJson(`${API.history}?after=${lastId}`);
      applyHistory(data, false);
    } catch {
      // The poll loop keeps the page up to date; this was only a refresh of the labels.
    }
  }

  function applyHistory(data, scroll) {
    merge(data.messages, { scroll, reset: data.reset });
    applyLocale(data.locale, data.dir);
    applyStrings(data.strings);
  }

  /** Optional: if the server sends UI strings of a new locale, relabel the page. */
  function applyStrings(update) {
    if (!update || typeof update !== "object") return;
    for (const [key, value] of Object.entries(update)) {
      if (typeof value === "string") strings[key] = value;
    }
    for (const node of document.querySelectorAll("[data-i18n]")) node.textContent = t(node.dataset.i18n);
    for (const node of document.querySelectorAll("[data-i18n-placeholder]")) {
      node.placeholder = t(node.dataset.i18nPlaceholder);
    }
    for (const node of document.querySelectorAll("[data-i18n-aria-label]")) {
      node.setAttribute("aria-label", t(node.dataset.i18nAriaLabel));
    }
    for (const node of document.querySelectorAll("[data-i18n-title]")) node.title = t(node.dataset.i18nTitle);
    document.title = t("title");
  }

  // ---------------------------------------------------------------- status, errors, progress

  function setConnection(state) {
    const text = state === "offline" ? t("offline") : state === "reconnecting" ? t("reconnecting") : "";
    el.status.textContent = text;
    el.status.hidden = !text;
    el.status.dataset.state = state;
  }

  function showError(message, retryable) {
    el.error.textContent = message;
    el.error.hidden = false;
    el.retry.hidden = !(retryable && pending);
    el.errorBox.hidden = false;
  }

  function hideError() {
    el.error.textContent = "";
    el.error.hidden = true;
    el.retry.hidden = true;
    el.errorBox.hidden = true;
  }

  function showProgress(fraction) {
    let text = t("uploading");
    if (fraction !== undefined) {
      // Whole tens only, so a screen reader is not flooded with announcements.
      const tens = Math.floor(fraction * 10) / 10;
      text += ` ${new Intl.NumberFormat(currentLang(), { style: "percent" }).format(tens)}`;
    }
    if (el.progress.textContent !== text) el.progress.textContent = text;
    el.progress.hidden = false;
  }

  function hideProgress() {
    el.progress.textContent = "";
    el.progress.hidden = true;
  }

  function setBusy(value) {
    busy = value;
    el.composer.setAttribute("aria-busy", String(value));
    for (const button of [el.send, el.attach]) {
      if (value) button.setAttribute("aria-disabled", "true");
      else button.removeAttribute("aria-disabled");
    }
    refreshChoices();
  }

  // ---------------------------------------------------------------- sending

  function clearInputIfUnchanged(sentValue) {
    if (sentValue && el.input.value === sentValue) {
      el.input.value = "";
      autosize();
    }
  }

  async function submit(job) {
    if (busy) return;
    pending = job;
    setBusy(true);
    hideError();
    job.button?.classList.add("is-chosen");
    try {
      let data;
      if (job.kind === "upload") {
        showProgress();
        const form = new FormData();
        form.append("file", job.file, job.file.name);
        if (job.caption) form.append("caption", job.caption);
        form.append("client_id", job.clientId);
        form.append("after", String(lastId));
        data = await uploadFile(form, showProgress);
      } else {
        const body = job.kind === "text" ? { text: job.text } : { choice: job.choice };
        body.client_id = job.clientId;
        // The answer holds what is new since then (and says so if the transcript was erased).
        body.after = lastId;
        data = await requestJson(API.message, { json: body });
      }
      pending = null;
      // What they typed is cleared only once the server has it, and only if unedited since.
      clearInputIfUnchanged(job.typed);
      merge(data.messages, { scroll: true, reset: data.reset });
    } catch (err) {
      job.button?.classList.remove("is-chosen");
      const retryable = err instanceof ApiError ? err.retryable : true;
      showError(err instanceof ApiError ? err.message : t("error_generic"), retryable);
    } finally {
      hideProgress();
      setBusy(false);
    }
  }

  function sendText() {
    if (busy) return;
    const typed = el.input.value;
    const text = typed.trim();
    if (!text) {
      el.input.focus();
      return;
    }
    // Sending the same text again after a failure is a retry: keep its client_id.
    const clientId = pending?.kind === "text" && pending.text === text ? pending.clientId : newClientId();
    submit({ kind: "text", text, typed, clientId });
  }

  function sendChoice(button) {
    if (busy || button.disabled || button.getAttribute("aria-disabled") === "true") return;
    submit({ kind: "choice", choice: button.dataset.choice, clientId: newClientId(), button });
  }

  function tooLargeMessage() {
    return t("file_too_large") || [t("error_generic"), t("attach_hint")].filter(Boolean).join(" ");
  }

  function sendFile(file) {
    if (busy || !file) return;
    if (maxUploadBytes > 0 && file.size > maxUploadBytes) {
      showError(tooLargeMessage(), false);
      return;
    }
    // Whatever is typed goes along as the caption.
    const typed = el.input.value;
    submit({ kind: "upload", file, caption: typed.trim(), typed, clientId: newClientId() });
  }

  function retry() {
    if (pending && !busy) submit(pending);
  }

  // ---------------------------------------------------------------- input box

  // Grows with what is typed (up to the CSS max-height). Not CSS field-sizing: that also
  // grows for a long placeholder, which on a 320px screen makes an empty box three lines tall.
  function autosize() {
    const input = el.input;
    input.style.height = "";
    if (input.value) input.style.height = `${input.scrollHeight + (input.offsetHeight - input.clientHeight)}px`;
  }

  // ---------------------------------------------------------------- polling

  async function pollLoop() {
    let delay = BACKOFF_FIRST_MS;
    let loaded = false;
    for (;;) {
      const started = Date.now();
      let fresh = false;
      try {
        if (!loaded) {
          applyHistory(await requestJson(`${API.history}?after=0`), true);
          loaded = true;
          fresh = true;
        } else {
          const data = await requestJson(`${API.poll}?after=${lastId}`, { timeoutMs: POLL_TIMEOUT_MS });
          fresh = merge(data.messages, { reset: data.reset });
        }
        delay = BACKOFF_FIRST_MS;
        setConnection("ok");
      } catch {
        setConnection(navigator.onLine === false ? "offline" : "reconnecting");
        await sleep(delay);
        delay = Math.min(delay * 2, BACKOFF_MAX_MS);
        continue;
      }
      // A server that answers an empty poll at once must not turn this into a busy loop.
      if (!fresh && Date.now() - started < 1_000) await sleep(BACKOFF_FIRST_MS);
    }
  }

  // ---------------------------------------------------------------- wiring

  el.composer.addEventListener("submit", (event) => {
    event.preventDefault();
    sendText();
  });

  el.input.addEventListener("keydown", (event) => {
    // isComposing / 229: Enter that confirms an IME candidate (Japanese, Chinese) is not "send".
    if (event.key !== "Enter" || event.shiftKey || event.isComposing || event.keyCode === 229) return;
    event.preventDefault();
    sendText();
  });

  el.input.addEventListener("input", autosize);

  el.attach.addEventListener("click", () => {
    if (!busy) el.file.click();
  });

  el.file.addEventListener("change", () => {
    const file = el.file.files && el.file.files[0];
    // Cleared so that choosing the same file again fires "change" again.
    el.file.value = "";
    sendFile(file);
  });

  el.retry.addEventListener("click", retry);

  el.log.addEventListener("click", (event) => {
    const button = event.target.closest("button[data-choice]");
    if (button && el.log.contains(button)) sendChoice(button);
  });

  el.log.addEventListener("scroll", () => {
    stickToBottom = isNearBottom();
  }, { passive: true });

  window.addEventListener("offline", () => setConnection("offline"));
  window.addEventListener("online", () => {
    if (el.status.dataset.state === "offline") setConnection("reconnecting");
    wakePoller?.();
  });
  document.addEventListener("visibilitychange", () => {
    if (document.visibilityState === "visible") wakePoller?.();
  });

  autosize();
  pollLoop();
})();
