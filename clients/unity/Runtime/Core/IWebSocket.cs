using System;
using System.Collections.Generic;
using System.Threading;
using System.Threading.Tasks;

namespace Tether.Session
{
    /// <summary>
    /// The transport seam: ClientWebSocketAdapter implements it over ClientWebSocket, the Unity
    /// WebGL build over the browser's WebSocket, and the tests with fakes. The client calls
    /// SendAsync from one sender at a time and keeps one ReceiveAsync pending while connected.
    /// An implementation must end ConnectAsync and ReceiveAsync when their token is cancelled or
    /// Abort() is called: the client's timeouts and its Dispose rely on it.
    /// </summary>
    public interface IWebSocket : IDisposable
    {
        Task ConnectAsync(Uri url, IDictionary<string, string> headers, CancellationToken cancel);

        Task SendAsync(string text, CancellationToken cancel);

        /// <summary>A whole message (fragments reassembled), or the close.</summary>
        Task<WebSocketFrame> ReceiveAsync(CancellationToken cancel);

        /// <summary>Starts the close handshake; the peer's answer arrives through ReceiveAsync.</summary>
        Task CloseAsync(int code, string reason, CancellationToken cancel);

        /// <summary>Cuts the socket at once; a pending ReceiveAsync fails.</summary>
        void Abort();
    }

    public sealed class WebSocketFrame
    {
        public bool IsClose;
        public bool IsBinary;
        public string Text;
        public int CloseCode;
        public string CloseReason;
    }
}
