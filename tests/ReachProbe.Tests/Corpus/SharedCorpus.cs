using System.Globalization;

namespace ReachProbe.Tests.Corpus;

/// <summary>
/// The real-capture corpus in <c>../shared/corpus/pcaps</c> (outside the repository) and tshark's counts for it.
/// Tests that need it skip, saying so, when it is missing on a developer machine, and fail under CI=true.
/// </summary>
internal static class SharedCorpus
{
    private static readonly Lazy<string?> Dir = new(Find);
    private static readonly Lazy<IReadOnlyList<Dictionary<string, string>>> Rows = new(LoadOracle);

    public static string? Directory => Dir.Value;

    public static string Require()
    {
        if (Dir.Value is { } d) return d;
        var message = "shared capture corpus not found: expected shared/corpus/pcaps beside the repository, or set REACHPROBE_CORPUS";
        if (Environment.GetEnvironmentVariable("CI") == "true") Assert.Fail(message);
        Skip.If(true, message);
        return "";
    }

    public static IReadOnlyList<Dictionary<string, string>> Oracle => Rows.Value;

    private static readonly Lazy<IReadOnlyDictionary<string, string>> Cats = new(LoadCategories);

    /// <summary>The corpus category of a file from SOURCES.md (e.g. "B-file,C-pcapng").</summary>
    public static string Category(string file) => Cats.Value.GetValueOrDefault(file, "");

    private static IReadOnlyDictionary<string, string> LoadCategories()
    {
        var result = new Dictionary<string, string>();
        foreach (var line in File.ReadLines(Path.Combine(Require(), "SOURCES.md")))
        {
            var cells = line.Split('|');
            if (cells.Length >= 6 && cells[1].Trim() is { Length: > 0 } name && !name.StartsWith("corpus") && !name.StartsWith("---"))
                result[name] = cells[4].Trim();
        }
        return result;
    }

    public static long Long(this Dictionary<string, string> row, string column) =>
        long.TryParse(row[column], NumberStyles.Integer, CultureInfo.InvariantCulture, out var v) ? v : -1;

    private static string? Find()
    {
        if (Environment.GetEnvironmentVariable("REACHPROBE_CORPUS") is { Length: > 0 } env && System.IO.Directory.Exists(env)) return env;
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, "shared", "corpus", "pcaps");
            if (File.Exists(Path.Combine(candidate, "oracle.tsv"))) return candidate;
        }
        return null;
    }

    private static IReadOnlyList<Dictionary<string, string>> LoadOracle()
    {
        var lines = File.ReadAllLines(Path.Combine(Require(), "oracle.tsv"));
        var header = lines[0].Split('\t');
        return lines.Skip(1).Where(l => l.Length > 0).Select(l =>
        {
            var cells = l.Split('\t');
            return header.Select((h, i) => (h, v: i < cells.Length ? cells[i] : "")).ToDictionary(x => x.h, x => x.v);
        }).ToList();
    }
}
