using System;
using System.IO;
using System.Linq;
using System.Threading;
using NUnit.Framework;

namespace Tether.Session.Tests
{
    [TestFixture, Timeout(15000)]
    public class FileSessionStoreTests
    {
        private string dir;
        private string path;

        [SetUp]
        public void CreateDirectory()
        {
            dir = Path.Combine(Path.GetTempPath(), "tether-store-" + Guid.NewGuid().ToString("N"));
            path = Path.Combine(dir, "nested", "session.json");
        }

        [TearDown]
        public void RemoveDirectory()
        {
            if (Directory.Exists(dir)) Directory.Delete(dir, true);
        }

        [Test]
        public void Save_then_Load_round_trips_and_leaves_no_temporary_file()
        {
            var store = new FileSessionStore(path);
            Assert.IsNull(store.Load(), "nothing saved yet");
            store.Save(new StoredSession { SessionId = "s1", ResumeToken = "s1.t1", LastSeq = 7 });
            store.Save(new StoredSession { SessionId = "s1", ResumeToken = "s1.t2", LastSeq = 9 });
            StoredSession loaded = new FileSessionStore(path).Load();
            Assert.AreEqual("s1", loaded.SessionId);
            Assert.AreEqual("s1.t2", loaded.ResumeToken);
            Assert.AreEqual(9L, loaded.LastSeq);
            Assert.That(Directory.GetFiles(Path.GetDirectoryName(path)).Select(Path.GetFileName).ToList(), Is.EqualTo(new[] { "session.json" }));
        }

        [Test]
        public void Load_of_a_damaged_file_is_null()
        {
            var store = new FileSessionStore(path);
            Directory.CreateDirectory(Path.GetDirectoryName(path));
            foreach (string text in new[] { "", "{", "[]", "{\"sessionId\":1}", "{\"sessionId\":\"s\"}", "\u0000\u0001" })
            {
                File.WriteAllText(path, text);
                Assert.IsNull(store.Load(), "from " + text);
            }
        }

        [Test]
        public void Clear_removes_the_file()
        {
            var store = new FileSessionStore(path);
            store.Save(new StoredSession { SessionId = "s1", ResumeToken = "s1.t1", LastSeq = 1 });
            store.Clear();
            Assert.IsFalse(File.Exists(path));
            Assert.IsNull(store.Load());
            store.Clear();
        }

        [Test]
        public void Concurrent_saves_leave_one_whole_session()
        {
            var store = new FileSessionStore(path);
            int failures = 0;
            var threads = Enumerable.Range(0, 8).Select(t => new Thread(() =>
            {
                for (int i = 0; i < 25; i++)
                {
                    try
                    {
                        store.Save(new StoredSession { SessionId = "s" + t, ResumeToken = "s" + t + ".t" + i, LastSeq = i });
                    }
                    catch (Exception)
                    {
                        Interlocked.Increment(ref failures);
                    }
                }
            })).ToList();
            threads.ForEach(t => t.Start());
            threads.ForEach(t => Assert.IsTrue(t.Join(5000)));
            Assert.AreEqual(0, failures);
            StoredSession loaded = store.Load();
            Assert.IsNotNull(loaded);
            StringAssert.StartsWith(loaded.SessionId + ".t", loaded.ResumeToken);
            Assert.AreEqual(1, Directory.GetFiles(Path.GetDirectoryName(path)).Length, "temporary files left");
        }
    }
}
