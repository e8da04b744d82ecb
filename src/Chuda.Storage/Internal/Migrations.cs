using System.Globalization;
using System.Reflection;

namespace Chuda.Storage.Internal;

internal sealed record Migration(int Version, string Name, string Sql);

/// <summary>Loads the embedded, versioned SQL migrations (<c>NNNN_name.sql</c>) of one backend, ascending.</summary>
internal static class Migrations
{
    public static IReadOnlyList<Migration> Load(string backendFolder)
    {
        var assembly = typeof(Migrations).Assembly;
        var prefix = $"Chuda.Storage.{backendFolder}.Migrations.";
        var list = new List<Migration>();
        foreach (var resource in assembly.GetManifestResourceNames())
        {
            if (!resource.StartsWith(prefix, StringComparison.Ordinal) || !resource.EndsWith(".sql", StringComparison.Ordinal)) continue;
            var name = resource[prefix.Length..^4];
            var underscore = name.IndexOf('_', StringComparison.Ordinal);
            var digits = underscore < 0 ? name : name[..underscore];
            if (!int.TryParse(digits, NumberStyles.None, CultureInfo.InvariantCulture, out var version) || version <= 0)
                throw new InvalidOperationException($"Migration resource '{resource}' does not start with a positive version number.");
            list.Add(new Migration(version, name, Read(assembly, resource)));
        }
        list.Sort((a, b) => a.Version.CompareTo(b.Version));
        for (var i = 1; i < list.Count; i++)
        {
            if (list[i].Version == list[i - 1].Version)
                throw new InvalidOperationException($"Two migrations share version {list[i].Version}.");
        }
        if (list.Count == 0) throw new InvalidOperationException($"No embedded migrations found under {prefix}.");
        return list;
    }

    private static string Read(Assembly assembly, string resource)
    {
        using var stream = assembly.GetManifestResourceStream(resource)
            ?? throw new InvalidOperationException($"Missing resource {resource}.");
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }
}
