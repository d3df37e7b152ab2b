// The page's half of WebGLSessionClient (Runtime/Unity/WebGLSessionClient.cs): each C# call
// lands in one function below, which drives a TetherSessionLib.SessionClient (the TypeScript
// client of packages/session, bundled in tether-session.jspre next to this file).
//
// C# → page: TetherSession_Create(handle, optionsJson, callback), _Connect, _Send (1 accepted,
// 0 refused), _Pause, _Resume, _Close(handle, end), _Pending, _Destroy. Strings arrive as
// UTF-8 pointers (UTF8ToString).
//
// Page → C#: callback(handle, utf8Json), a pointer to a static [MonoPInvokeCallback] method,
// called through makeDynCall with a string this file allocates (_malloc) and frees once the
// call returns (the C# side copies it). One event per call, one of:
//   {"type":"state","to":"active","from":"handshaking"}
//   {"type":"message","seq":3,"body":…}
//   {"type":"resumed","sessionId":"…","resent":0,"missed":0,"resumeToken":"…"}
//   {"type":"newSession","sessionId":"…","reason":"new|expired|unknown|bad-token",
//    "previousSessionId":"…"|null,"undelivered":[…],"resumeToken":"…"}
//   {"type":"dropped","bodies":[…]}
//   {"type":"closed","reason":"closed|replaced"}
// The resume token travels so that the C# side can keep it in its ISessionStore (PlayerPrefs,
// which WebGL keeps in IndexedDB), as the core does at every welcome.
//
// Written in ES5: Unity runs library files through Emscripten's tools, which expect it.
mergeInto(LibraryManager.library, {
  $TetherSessionBridge: {
    clients: {},

    emit: function (entry, event) {
      var text = JSON.stringify(event);
      var size = lengthBytesUTF8(text) + 1;
      var buffer = _malloc(size);
      stringToUTF8(text, buffer, size);
      try {
        {{{ makeDynCall('vii', 'entry.callback') }}}(entry.handle, buffer);
      } finally {
        _free(buffer);
      }
    },

    get: function (handle) {
      return TetherSessionBridge.clients[handle];
    },
  },

  TetherSession_Create__deps: ['$TetherSessionBridge'],
  TetherSession_Create: function (handle, optionsJson, callback) {
    if (typeof TetherSessionLib === 'undefined') {
      throw new Error('TetherSessionLib is missing: tether-session.jspre must be in the build');
    }
    var bridge = TetherSessionBridge;
    // options.resume, when the C# side's store had a session: the client's first hello resumes
    // it, as the C# core does after an app restart (a reloaded player, here).
    var options = JSON.parse(UTF8ToString(optionsJson));
    var client = new TetherSessionLib.SessionClient(options);
    var entry = { handle: handle, callback: callback, client: client, off: [] };
    var emit = function (event) {
      bridge.emit(entry, event);
    };
    entry.off.push(
      client.on('state', function (to, from) {
        emit({ type: 'state', to: to, from: from });
      }),
      client.on('message', function (body, meta) {
        emit({ type: 'message', seq: meta.seq, body: body === undefined ? null : body });
      }),
      client.on('resumed', function (e) {
        emit({
          type: 'resumed',
          sessionId: e.sessionId,
          resent: e.resent,
          missed: e.missed,
          resumeToken: client.resumeToken,
        });
      }),
      client.on('newSession', function (e) {
        emit({
          type: 'newSession',
          sessionId: e.sessionId,
          reason: e.reason,
          previousSessionId: e.previousSessionId,
          undelivered: e.undelivered,
          resumeToken: client.resumeToken,
        });
      }),
      client.on('dropped', function (bodies) {
        emit({ type: 'dropped', bodies: bodies });
      }),
      client.on('closed', function (info) {
        emit({ type: 'closed', reason: info.reason });
      })
    );
    bridge.clients[handle] = entry;
  },

  TetherSession_Connect__deps: ['$TetherSessionBridge'],
  TetherSession_Connect: function (handle) {
    var entry = TetherSessionBridge.get(handle);
    // A failure ends in a "closed" event; the promise has nothing more to say.
    if (entry) entry.client.connect().catch(function () {});
  },

  TetherSession_Send__deps: ['$TetherSessionBridge'],
  TetherSession_Send: function (handle, bodyJson) {
    var entry = TetherSessionBridge.get(handle);
    if (!entry) return 0;
    return entry.client.send(JSON.parse(UTF8ToString(bodyJson))) ? 1 : 0;
  },

  TetherSession_Pause__deps: ['$TetherSessionBridge'],
  TetherSession_Pause: function (handle) {
    var entry = TetherSessionBridge.get(handle);
    if (entry) entry.client.pause();
  },

  TetherSession_Resume__deps: ['$TetherSessionBridge'],
  TetherSession_Resume: function (handle) {
    var entry = TetherSessionBridge.get(handle);
    if (entry) entry.client.resume();
  },

  TetherSession_Close__deps: ['$TetherSessionBridge'],
  TetherSession_Close: function (handle, end) {
    var entry = TetherSessionBridge.get(handle);
    if (entry) entry.client.close({ end: end !== 0 }).catch(function () {});
  },

  TetherSession_Pending__deps: ['$TetherSessionBridge'],
  TetherSession_Pending: function (handle) {
    var entry = TetherSessionBridge.get(handle);
    return entry ? entry.client.pending : 0;
  },

  TetherSession_Destroy__deps: ['$TetherSessionBridge'],
  TetherSession_Destroy: function (handle) {
    var entry = TetherSessionBridge.get(handle);
    if (!entry) return;
    delete TetherSessionBridge.clients[handle];
    if (entry.client.state !== 'closed') entry.client.close({ end: false }).catch(function () {});
    for (var i = 0; i < entry.off.length; i++) entry.off[i]();
  },
});
