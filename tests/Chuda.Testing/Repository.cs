using System.Reflection;

namespace Chuda.Testing;

/// <summary>Paths inside the repository the tests were built from.</summary>
public static class Repository
{
    public static string Root { get; } = typeof(Repository).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>()
        .Single(a => a.Key == "RepositoryRoot").Value!;

    public static string File(string relative) => Path.Combine(Root, relative);
}
