// A stub of the few UnityEngine types that Runtime/Unity and the samples use, with Unity's own
// names and signatures, so that the adapter compiles here (Mono, no Unity Editor) and a typo in
// it fails the build instead of a Unity user's. Nothing more than is used: a member added here
// must exist in Unity 2021.3 with the same signature.
//
// The behaviour is Unity's where a test depends on it: PlayerPrefs refuses every thread but the
// main one (UnityException, as the player does). Two things Unity decides and a program cannot,
// the stub takes from its surroundings, so that no member beyond Unity's is needed:
// - the main thread is the first thread that calls PlayerPrefs (a test touches it first thing
//   on its main thread);
// - Application.platform is read from TETHER_STUB_PLATFORM (a RuntimePlatform name), default
//   LinuxPlayer, so a test can run the adapter "on Android";
// - PlayerPrefs live in memory and, when TETHER_STUB_PLAYERPREFS names a file, are read from it
//   at start and written to it by PlayerPrefs.Save() only (Unity also writes on a normal quit;
//   a test that kills the process sees what an OS kill of a suspended app leaves).
// Compiled as its own UnityEngine.dll, so its internals are invisible to the code under test.
using System;
using System.Collections.Generic;
using System.Text;
using System.Threading;

namespace UnityEngine
{
    public class Object
    {
    }

    public class Component : Object
    {
    }

    public class Behaviour : Component
    {
    }

    public class MonoBehaviour : Behaviour
    {
    }

    [Serializable]
    public class UnityException : SystemException
    {
        public UnityException(string message) : base(message) { }
    }

    // The numbers are Unity's (a serialized value or a cast must mean the same platform).
    public enum RuntimePlatform
    {
        OSXEditor = 0,
        OSXPlayer = 1,
        WindowsPlayer = 2,
        WindowsEditor = 7,
        IPhonePlayer = 8,
        Android = 11,
        LinuxPlayer = 13,
        LinuxEditor = 16,
        WebGLPlayer = 17,
    }

    public class Application
    {
        public static bool runInBackground { get; set; }

        public static RuntimePlatform platform
        {
            get
            {
                var name = Environment.GetEnvironmentVariable("TETHER_STUB_PLATFORM");
                return string.IsNullOrEmpty(name)
                    ? RuntimePlatform.LinuxPlayer
                    : (RuntimePlatform)Enum.Parse(typeof(RuntimePlatform), name);
            }
        }

        public static bool isMobilePlatform
        {
            get
            {
                var p = platform;
                return p == RuntimePlatform.Android || p == RuntimePlatform.IPhonePlayer;
            }
        }
    }

    public class PlayerPrefs
    {
        static readonly object gate = new object();
        static readonly Dictionary<string, string> values = Read();
        static int mainThread = -1;

        static string PrefsFile()
        {
            return Environment.GetEnvironmentVariable("TETHER_STUB_PLAYERPREFS");
        }

        // One "key<TAB>value" line per entry, both base64 (UTF-8).
        static Dictionary<string, string> Read()
        {
            var read = new Dictionary<string, string>();
            var path = PrefsFile();
            if (string.IsNullOrEmpty(path) || !System.IO.File.Exists(path)) return read;
            foreach (var line in System.IO.File.ReadAllLines(path))
            {
                var tab = line.IndexOf('\t');
                if (tab < 0) continue;
                read[Decode(line.Substring(0, tab))] = Decode(line.Substring(tab + 1));
            }
            return read;
        }

        static string Encode(string s) { return Convert.ToBase64String(Encoding.UTF8.GetBytes(s)); }

        static string Decode(string s) { return Encoding.UTF8.GetString(Convert.FromBase64String(s)); }

        static void MainThreadOnly(string method)
        {
            var current = Thread.CurrentThread.ManagedThreadId;
            lock (gate)
            {
                if (mainThread == -1) mainThread = current;
                if (mainThread == current) return;
            }
            throw new UnityException(method + " can only be called from the main thread.");
        }

        public static string GetString(string key, string defaultValue)
        {
            MainThreadOnly("GetString");
            lock (gate)
            {
                string value;
                return values.TryGetValue(key, out value) ? value : defaultValue;
            }
        }

        public static string GetString(string key)
        {
            return GetString(key, "");
        }

        public static void SetString(string key, string value)
        {
            MainThreadOnly("SetString");
            lock (gate) values[key] = value;
        }

        public static bool HasKey(string key)
        {
            MainThreadOnly("HasKey");
            lock (gate) return values.ContainsKey(key);
        }

        public static void DeleteKey(string key)
        {
            MainThreadOnly("DeleteKey");
            lock (gate) values.Remove(key);
        }

        public static void Save()
        {
            MainThreadOnly("Save");
            var path = PrefsFile();
            if (string.IsNullOrEmpty(path)) return;
            var lines = new List<string>();
            lock (gate)
            {
                foreach (var entry in values) lines.Add(Encode(entry.Key) + "\t" + Encode(entry.Value));
            }
            // Whole or not at all, as a kill in the middle of a write must not leave half a file.
            System.IO.File.WriteAllLines(path + ".tmp", lines.ToArray());
            if (System.IO.File.Exists(path)) System.IO.File.Replace(path + ".tmp", path, null);
            else System.IO.File.Move(path + ".tmp", path);
        }
    }

    // Unity's Debug may be called from any thread; so may this one.
    public class Debug
    {
        public static void Log(object message)
        {
            Console.WriteLine(message);
        }

        public static void LogWarning(object message)
        {
            Console.WriteLine("warning: " + message);
        }

        public static void LogError(object message)
        {
            Console.Error.WriteLine("error: " + message);
        }

        public static void LogException(Exception exception)
        {
            Console.Error.WriteLine("exception: " + exception);
        }
    }

    [AttributeUsage(AttributeTargets.Field, Inherited = true, AllowMultiple = false)]
    public sealed class SerializeField : Attribute
    {
    }

    [AttributeUsage(AttributeTargets.Field, Inherited = true, AllowMultiple = false)]
    public abstract class PropertyAttribute : Attribute
    {
    }

    [AttributeUsage(AttributeTargets.Field, Inherited = true, AllowMultiple = true)]
    public class HeaderAttribute : PropertyAttribute
    {
        public readonly string header;
        public HeaderAttribute(string header) { this.header = header; }
    }

    [AttributeUsage(AttributeTargets.Field, Inherited = true, AllowMultiple = false)]
    public class TooltipAttribute : PropertyAttribute
    {
        public readonly string tooltip;
        public TooltipAttribute(string tooltip) { this.tooltip = tooltip; }
    }

    [AttributeUsage(AttributeTargets.Field, Inherited = true, AllowMultiple = false)]
    public class TextAreaAttribute : PropertyAttribute
    {
        public readonly int minLines;
        public readonly int maxLines;
        public TextAreaAttribute() { minLines = 3; maxLines = 3; }
        public TextAreaAttribute(int minLines, int maxLines)
        {
            this.minLines = minLines;
            this.maxLines = maxLines;
        }
    }
}

namespace UnityEngine.Events
{
    public delegate void UnityAction<T0>(T0 arg0);

    [Serializable]
    public abstract class UnityEventBase
    {
    }

    [Serializable]
    public class UnityEvent<T0> : UnityEventBase
    {
        UnityAction<T0> calls;

        public UnityEvent() { }

        public void AddListener(UnityAction<T0> call) { calls += call; }

        public void RemoveListener(UnityAction<T0> call) { calls -= call; }

        public void Invoke(T0 arg0)
        {
            var c = calls;
            if (c != null) c(arg0);
        }
    }
}

namespace UnityEngine.Scripting
{
    [AttributeUsage(
        AttributeTargets.Assembly | AttributeTargets.Class | AttributeTargets.Struct |
        AttributeTargets.Enum | AttributeTargets.Constructor | AttributeTargets.Method |
        AttributeTargets.Property | AttributeTargets.Field | AttributeTargets.Event |
        AttributeTargets.Interface | AttributeTargets.Delegate,
        Inherited = false)]
    public class PreserveAttribute : Attribute
    {
    }
}

namespace AOT
{
    // IL2CPP generates a native entry point for a method with this attribute, so native code
    // (here, the WebGL page's JavaScript) can call it through a function pointer.
    [AttributeUsage(AttributeTargets.Method)]
    public class MonoPInvokeCallbackAttribute : Attribute
    {
        public MonoPInvokeCallbackAttribute(Type type) { }
    }
}
