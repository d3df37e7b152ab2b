using System;
using System.Collections.Generic;
using System.IO;
using System.Net.WebSockets;
using System.Text;
using System.Threading;
using System.Threading.Tasks;

namespace Tether.Session
{
    /// <summary>
    /// IWebSocket over System.Net.WebSockets.ClientWebSocket (every Unity platform but WebGL).
    /// Reassembles fragmented messages up to MaxFrameBytes; a larger one aborts the socket rather
    /// than grow a buffer on a hostile server's say-so.
    /// </summary>
    public sealed class ClientWebSocketAdapter : IWebSocket
    {
        public const int DefaultMaxFrameBytes = 1 << 20;

        private readonly ClientWebSocket socket = new ClientWebSocket();
        private readonly byte[] buffer = new byte[16 * 1024];

        public int MaxFrameBytes { get; set; } = DefaultMaxFrameBytes;

        public async Task ConnectAsync(Uri url, IDictionary<string, string> headers, CancellationToken cancel)
        {
            if (headers != null)
                foreach (KeyValuePair<string, string> header in headers)
                    socket.Options.SetRequestHeader(header.Key, header.Value);
            await socket.ConnectAsync(url, cancel).ConfigureAwait(false);
        }

        public Task SendAsync(string text, CancellationToken cancel)
        {
            byte[] bytes = Encoding.UTF8.GetBytes(text);
            return socket.SendAsync(new ArraySegment<byte>(bytes), WebSocketMessageType.Text, true, cancel);
        }

        public async Task<WebSocketFrame> ReceiveAsync(CancellationToken cancel)
        {
            using (var message = new MemoryStream())
            {
                while (true)
                {
                    WebSocketReceiveResult result =
                        await socket.ReceiveAsync(new ArraySegment<byte>(buffer), cancel).ConfigureAwait(false);
                    if (result.MessageType == WebSocketMessageType.Close)
                    {
                        int code = result.CloseStatus.HasValue ? (int)result.CloseStatus.Value : 1005;
                        await AnswerCloseAsync(code, cancel).ConfigureAwait(false);
                        return new WebSocketFrame { IsClose = true, CloseCode = code, CloseReason = result.CloseStatusDescription };
                    }
                    if (message.Length + result.Count > MaxFrameBytes)
                    {
                        socket.Abort();
                        throw new InvalidDataException("a frame over " + MaxFrameBytes + " bytes");
                    }
                    message.Write(buffer, 0, result.Count);
                    if (!result.EndOfMessage) continue;
                    if (result.MessageType == WebSocketMessageType.Binary) return new WebSocketFrame { IsBinary = true };
                    return new WebSocketFrame { Text = Encoding.UTF8.GetString(message.GetBuffer(), 0, (int)message.Length) };
                }
            }
        }

        public Task CloseAsync(int code, string reason, CancellationToken cancel)
        {
            // The output side only: the receive loop has a ReceiveAsync pending, and the server's
            // answer arrives through it. ClientWebSocket.CloseAsync would receive concurrently.
            WebSocketState state = socket.State;
            if (state != WebSocketState.Open && state != WebSocketState.CloseReceived) return Task.FromResult(true);
            return socket.CloseOutputAsync((WebSocketCloseStatus)code, reason, cancel);
        }

        public void Abort()
        {
            socket.Abort();
        }

        public void Dispose()
        {
            socket.Dispose();
        }

        /// <summary>Completes the close handshake the server started, echoing its code (RFC 6455 §5.5.1).</summary>
        private async Task AnswerCloseAsync(int code, CancellationToken cancel)
        {
            if (socket.State != WebSocketState.CloseReceived) return;
            // 1005, 1006 and 1015 describe a close; they may not be sent in one.
            var status = code == 1005 || code == 1006 || code == 1015 ? WebSocketCloseStatus.NormalClosure : (WebSocketCloseStatus)code;
            try
            {
                await socket.CloseOutputAsync(status, "", cancel).ConfigureAwait(false);
            }
            catch (WebSocketException)
            {
                // The peer may be gone already; the close it sent is what matters.
            }
        }
    }
}
