using System.Runtime.CompilerServices;

// The tests reach the fixed-key encryption overload (RFC 8291 Appendix A's test vector) and the token caches' internals.
[assembly: InternalsVisibleTo("Chuda.Channels.Tests")]
