namespace Tether.Session
{
    /// <summary>
    /// The close codes of docs/session-protocol.md §6 and what each asks of the client, in one
    /// place so the table and the code cannot drift apart.
    /// </summary>
    internal static class CloseCodes
    {
        /// <summary>The client sent "end", or the server ended the session: do not reconnect.</summary>
        public const int Normal = 1000;
        /// <summary>The server is going away: backoff and resume.</summary>
        public const int GoingAway = 1001;
        /// <summary>No status in the close frame (a socket closed without a code).</summary>
        public const int NoStatus = 1005;
        /// <summary>A proxy's "go away": retry only after a long wait.</summary>
        public const int PolicyViolation = 1008;
        /// <summary>A malformed frame, no hello in time, a sequence gap: backoff and resume.</summary>
        public const int ProtocolError = 4400;
        /// <summary>The token is malformed or not this session's: forget it, connect at once without.</summary>
        public const int BadResumeToken = 4401;
        /// <summary>The app was silent too long on a live socket; the session is kept: resume at once.</summary>
        public const int AppSilent = 4408;
        /// <summary>Another connection resumed the session: stop.</summary>
        public const int Replaced = 4409;
        /// <summary>The session expired or was ended: forget the token, connect at once without.</summary>
        public const int SessionExpired = 4410;

        public static CloseAction ActionFor(int code)
        {
            switch (code)
            {
                case Normal:
                    return CloseAction.Stay;
                case BadResumeToken:
                case SessionExpired:
                    return CloseAction.ForgetAndRetryAtOnce;
                case AppSilent:
                    return CloseAction.RetryAtOnce;
                case Replaced:
                    return CloseAction.Stop;
                case PolicyViolation:
                    return CloseAction.RetryAfterLongWait;
                default:
                    // 1001, 1006, 4400 and anything unknown: a plain loss.
                    return CloseAction.Backoff;
            }
        }

        public static string Describe(int code)
        {
            switch (code)
            {
                case Normal: return "normal";
                case GoingAway: return "going away";
                case NoStatus: return "no status";
                case 1006: return "abnormal";
                case PolicyViolation: return "policy violation";
                case ProtocolError: return "protocol error";
                case BadResumeToken: return "bad resume token";
                case AppSilent: return "app silent";
                case Replaced: return "replaced";
                case SessionExpired: return "session expired";
                default: return "unknown code";
            }
        }
    }

    internal enum CloseAction
    {
        /// <summary>No reconnect until the app asks again (Send, ConnectAsync).</summary>
        Stay,
        Backoff,
        RetryAtOnce,
        ForgetAndRetryAtOnce,
        RetryAfterLongWait,
        /// <summary>Closed for good.</summary>
        Stop,
    }
}
