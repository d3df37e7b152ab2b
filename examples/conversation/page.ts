// The browser side of the example: one SessionClient on the page's own WebSocket, following the
// page lifecycle (hidden, frozen, offline). It never continues a conversation silently: a
// resume and a new conversation are both said out loud.
import { SessionClient } from '@tether/session';
import type { NewSessionEvent, ResumedEvent } from '@tether/session';

interface ServerMessage {
  kind: 'conversation' | 'reply' | 'tick';
  text?: string;
  conversationId?: string;
  language?: string;
  n?: number;
  of?: number;
  continuedFrom?: string;
}

const $ = (id: string) => document.getElementById(id)!;
const lang = new URLSearchParams(location.search).get('lang') ?? 'en';
const scheme = location.protocol === 'https:' ? 'wss' : 'ws';
const client = new SessionClient({
  url: `${scheme}://${location.host}/session?lang=${encodeURIComponent(lang)}`,
});

// What a test, or someone curious in the console, can read: `tether.received` and so on.
const probe = {
  client,
  received: [] as ServerMessage[],
  resumed: [] as ResumedEvent[],
  newSessions: [] as NewSessionEvent[],
};
(window as unknown as { tether: typeof probe }).tether = probe;

const WHY: Record<NewSessionEvent['reason'], string> = {
  new: 'the previous one had ended',
  expired: 'the previous one expired while this page was away',
  unknown: 'the server no longer knew the previous one',
  'bad-token': 'the previous one could not be verified',
};

client.on('message', (body) => {
  const message = body as ServerMessage;
  probe.received.push(message);
  if (message.kind === 'conversation') {
    $('conversation').textContent = message.conversationId ?? '?';
    $('language').textContent = message.language ?? '?';
    line(message.text ?? '', 'server');
    if (message.continuedFrom) line(`(continues ${message.continuedFrom})`, 'separator');
  } else if (message.kind === 'tick') {
    line(`tick ${message.n} of ${message.of}`, 'tick');
  } else {
    line(message.text ?? '', 'server');
  }
});

client.on('state', (state) => {
  $('state').textContent = state;
  $('state').className = `state ${state}`;
});

client.on('resumed', (event) => {
  probe.resumed.push(event);
  const lost = event.missed ? ` ${event.missed} message(s) from the server were lost.` : '';
  notice(`Resumed the same conversation.${lost}`, 'ok');
});

client.on('newSession', (event) => {
  probe.newSessions.push(event);
  if (!event.previousSessionId) return; // the first one: the server's greeting says it all
  const unsent = event.undelivered.length
    ? ` ${event.undelivered.length} message(s) you sent were not delivered.`
    : '';
  notice(`A new conversation started: ${WHY[event.reason]}.${unsent}`, 'warn');
  line('— new conversation —', 'separator');
});

client.on('closed', ({ reason }) => {
  if (reason === 'replaced') notice('This conversation continues in another tab.', 'warn');
});

$('say').addEventListener('submit', (event) => {
  event.preventDefault();
  const input = $('text') as HTMLInputElement;
  const text = input.value.trim();
  if (!text) return;
  if (client.send({ text })) line(text, 'you');
  else notice('Too many messages waiting to be sent; this one was not queued.', 'warn');
  input.value = '';
});

function line(text: string, kind: string): void {
  const item = document.createElement('li');
  item.className = kind;
  item.textContent = text;
  $('log').append(item);
}

function notice(text: string, kind: 'ok' | 'warn'): void {
  $('notice').textContent = text;
  $('notice').className = kind;
}

void client.connect();
