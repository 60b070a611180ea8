// Test helper: a strict reader of Prometheus text exposition format 0.0.4, as a
// scraper would apply it to our /metrics output. Every line must be a comment
// ("# HELP name text", "# TYPE name type") or a sample "name{labels} number";
// anything else fails the test. Also fetches /metrics with the real curl.
using System.Globalization;
using System.Text.RegularExpressions;
using Postfix.Tests.Infrastructure;
using Xunit;

namespace Postfix.Tests.Metrics;

public sealed partial class PrometheusScrape
{
    public sealed record Sample(string Name, IReadOnlyDictionary<string, string> Labels, double Value);

    public IReadOnlyList<Sample> Samples { get; }
    public IReadOnlyDictionary<string, string> Types { get; }
    public string Text { get; }

    private PrometheusScrape(string text, List<Sample> samples, Dictionary<string, string> types)
    {
        Text = text;
        Samples = samples;
        Types = types;
    }

    public static PrometheusScrape Parse(string text)
    {
        var samples = new List<Sample>();
        var types = new Dictionary<string, string>();
        Assert.True(text.Length == 0 || text.EndsWith('\n'), "exposition must end with a newline");
        foreach (var line in text.Split('\n'))
        {
            if (line.Length == 0) continue;
            if (line.StartsWith('#'))
            {
                var c = CommentRegex().Match(line);
                Assert.True(c.Success, $"malformed comment line: {line}");
                if (c.Groups[1].Value == "TYPE")
                {
                    Assert.Matches("^(counter|gauge|histogram|summary|untyped)$", c.Groups[3].Value);
                    Assert.True(types.TryAdd(c.Groups[2].Value, c.Groups[3].Value), $"second TYPE line for {c.Groups[2].Value}");
                }
                continue;
            }
            var m = SampleRegex().Match(line);
            Assert.True(m.Success, $"not \"name{{labels}} number\": {line}");
            var labels = new Dictionary<string, string>();
            foreach (Match l in LabelRegex().Matches(m.Groups[2].Value))
                Assert.True(labels.TryAdd(l.Groups[1].Value, Unescape(l.Groups[2].Value)), $"duplicate label in: {line}");
            samples.Add(new Sample(m.Groups[1].Value, labels, ParseNumber(m.Groups[3].Value)));
        }
        return new PrometheusScrape(text, samples, types);
    }

    /// <summary>The sum over every series of <paramref name="name"/> whose labels include <paramref name="labels"/>.</summary>
    public double Sum(string name, params (string Key, string Value)[] labels) =>
        Samples.Where(s => s.Name == name && labels.All(l => s.Labels.TryGetValue(l.Key, out var v) && v == l.Value))
            .Sum(s => s.Value);

    /// <summary>The one series of <paramref name="name"/> with exactly <paramref name="labels"/>; fails when absent.</summary>
    public double Value(string name, params (string Key, string Value)[] labels)
    {
        var hit = Samples.Where(s => s.Name == name && s.Labels.Count == labels.Length
            && labels.All(l => s.Labels.TryGetValue(l.Key, out var v) && v == l.Value)).ToList();
        Assert.True(hit.Count == 1, $"expected one {name}{{{string.Join(',', labels.Select(l => $"{l.Key}=\"{l.Value}\""))}}} in:\n{Text}");
        return hit[0].Value;
    }

    /// <summary>GET http://127.0.0.1:PORT/metrics with curl -sf (fails on HTTP errors), parsed.</summary>
    public static async Task<PrometheusScrape> CurlAsync(int port)
    {
        var r = await Repo.RunAsync(Repo.Which("curl"), ["-sf", "--max-time", "10", $"http://127.0.0.1:{port}/metrics"], TimeSpan.FromSeconds(30));
        Assert.True(r.ExitCode == 0, $"curl exited {r.ExitCode}: {r.Stderr}");
        return Parse(r.Stdout);
    }

    /// <summary>Scrapes until <paramref name="condition"/> holds (bounded), and returns that scrape.</summary>
    public static async Task<PrometheusScrape> CurlUntilAsync(int port, Func<PrometheusScrape, bool> condition, TimeSpan bound)
    {
        var sw = System.Diagnostics.Stopwatch.StartNew();
        var s = await CurlAsync(port);
        while (!condition(s) && sw.Elapsed < bound)
        {
            await Task.Delay(250);
            s = await CurlAsync(port);
        }
        Assert.True(condition(s), $"condition not met within {bound}; last scrape:\n{s.Text}");
        return s;
    }

    private static double ParseNumber(string text) => text switch
    {
        "+Inf" => double.PositiveInfinity,
        "-Inf" => double.NegativeInfinity,
        "NaN" => double.NaN,
        _ => double.Parse(text, NumberStyles.Float, CultureInfo.InvariantCulture),
    };

    private static string Unescape(string v) => UnescapeRegex().Replace(v, m => m.Value[1] switch
    {
        'n' => "\n",
        var c => c.ToString(),
    });

    [GeneratedRegex(@"^# (HELP|TYPE) ([a-zA-Z_:][a-zA-Z0-9_:]*) ?(.*)$")]
    private static partial Regex CommentRegex();

    [GeneratedRegex("""^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{((?:[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\[\\"n])*")(?:,[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\[\\"n])*")*)\})? (NaN|[+-]Inf|[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)$""")]
    private static partial Regex SampleRegex();

    [GeneratedRegex(@"([a-zA-Z_][a-zA-Z0-9_]*)=""((?:[^""\\\n]|\\[\\""n])*)""")]
    private static partial Regex LabelRegex();

    [GeneratedRegex(@"\\[\\""n]")]
    private static partial Regex UnescapeRegex();
}
