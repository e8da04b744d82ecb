using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Chuda.Bench;

/// <summary>Prints human-readable lines and one machine-readable <c>RESULT {json}</c> line per figure (bench/run.sh collects them).</summary>
public static class Report
{
    public static void Line(string text) => Console.WriteLine(text);

    /// <summary>A figure, optionally with the ceiling measured in the same run (ratio = value / ceiling).</summary>
    public static void Result(string scenario, string store, string metric, double value, string unit,
        double? ceiling = null, string? target = null, bool? met = null)
    {
        var node = new JsonObject
        {
            ["scenario"] = scenario,
            ["store"] = store,
            ["metric"] = metric,
            ["value"] = Math.Round(value, 3),
            ["unit"] = unit,
        };
        if (ceiling is { } c)
        {
            node["ceiling"] = Math.Round(c, 3);
            node["ratio"] = c > 0 ? Math.Round(value / c, 4) : null;
        }
        if (target is not null) node["target"] = target;
        if (met is not null) node["met"] = met;
        Console.WriteLine("RESULT " + node.ToJsonString());
        Console.Out.Flush();
    }

    public static string F(double v) => v.ToString("#,0.##", CultureInfo.InvariantCulture);

    public static double Percentile(List<double> sorted, double p)
    {
        if (sorted.Count == 0) return double.NaN;
        var rank = p / 100.0 * (sorted.Count - 1);
        var lo = (int)Math.Floor(rank);
        var hi = (int)Math.Ceiling(rank);
        return sorted[lo] + (sorted[hi] - sorted[lo]) * (rank - lo);
    }

    /// <summary><c>summarize FILE...</c>: medians per (scenario, store, metric) over the RESULT lines of several runs.</summary>
    public static int Summarize(IEnumerable<string> files)
    {
        var rows = new List<JsonObject>();
        foreach (var file in files)
        {
            foreach (var line in File.ReadLines(file))
            {
                var at = line.IndexOf("RESULT {", StringComparison.Ordinal);
                if (at < 0) continue;
                if (JsonNode.Parse(line[(at + 7)..]) is JsonObject o) rows.Add(o);
            }
        }
        Console.WriteLine($"| scenario | store | metric | runs | median | unit | median ceiling | median ratio | target | met (median) | all runs |");
        Console.WriteLine("|---|---|---|---|---|---|---|---|---|---|---|");
        foreach (var g in rows.GroupBy(r => (S: (string)r["scenario"]!, St: (string)r["store"]!, M: (string)r["metric"]!)))
        {
            var values = g.Select(r => (double)r["value"]!).ToList();
            var ceilings = g.Where(r => r["ceiling"] is not null).Select(r => (double)r["ceiling"]!).ToList();
            var ratios = g.Where(r => r["ratio"] is not null).Select(r => (double)r["ratio"]!).ToList();
            var unit = (string?)g.First()["unit"] ?? "";
            var target = (string?)g.First()["target"] ?? "";
            var median = Median(values);
            var mets = g.Where(r => r["met"] is not null).Select(r => (bool)r["met"]!).ToList();
            var met = mets.Count == 0 ? "" : mets.Count(m => m) * 2 > mets.Count ? "yes" : "no";
            Console.WriteLine(string.Join(" | ",
                "| " + g.Key.S, g.Key.St, g.Key.M, values.Count.ToString(CultureInfo.InvariantCulture), F(median), unit,
                ceilings.Count > 0 ? F(Median(ceilings)) : "",
                ratios.Count > 0 ? Median(ratios).ToString("0.00", CultureInfo.InvariantCulture) : "",
                target, met,
                string.Join(", ", values.Select(F))) + " |");
        }
        return 0;
    }

    public static double Median(List<double> values)
    {
        if (values.Count == 0) return double.NaN;
        var s = values.OrderBy(v => v).ToList();
        return s.Count % 2 == 1 ? s[s.Count / 2] : (s[s.Count / 2 - 1] + s[s.Count / 2]) / 2;
    }

    public static string Json(object o) => JsonSerializer.Serialize(o);
}
