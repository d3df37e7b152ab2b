using System.Runtime.CompilerServices;

// The NUnit tests drive the internals that have no public face: the backoff on its own, and
// the client's loop task and timer count, to prove that nothing outlives Dispose. The name is
// the test assembly's in Unity (Tests/Tether.Session.Tests.asmdef) and under mcs alike.
[assembly: InternalsVisibleTo("Tether.Session.Tests")]
