using System.Diagnostics;
using System.Text.Json;
using ReachProbe.Cli;
using ReachProbe.History;
using ReachProbe.Verdict;

namespace ReachProbe.Tests.Cli;

/// <summary>
/// <c>report --html</c> as a person sees it: a year of history (two firmware versions, all three states, three weeks
/// the agent was off) rendered by headless Chromium, then measured in the page — every bar's height against its count,
/// every bar inside its plot, every element inside its chart, the page no wider than 1280 pixels.
/// </summary>
public sealed class ReportBrowserTests : IDisposable
{
    private static readonly DateTimeOffset Monday = new(2025, 1, 6, 0, 0, 0, TimeSpan.Zero);
    private const int Weeks = 52;
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("reachprobe-browser-");

    public void Dispose() => _dir.Delete(true);

    private static (int Deaf, int Down, int Unresponsive) Week(int k) => (k % 4, k % 3 == 0 ? 1 : 0, k % 5 == 0 ? 2 : 0);

    private static bool Off(int k) => k is >= 20 and <= 22;

    private static string Firmware(int k) => k < 30 ? "7.02" : "8.00";

    /// <summary>The year: the agent runs a week at a time (off for weeks 20–22); firmware 8.00 from week 30.</summary>
    private string History()
    {
        var db = Path.Combine(_dir.FullName, "history.db");
        using var store = HistoryStore.Open(db);
        for (var k = 0; k < Weeks; k++)
        {
            if (Off(k)) continue;
            var week = Monday.AddDays(7 * k);
            store.Start(week);
            store.Watch("console", "198.18.0.27", null, week);
            store.RecordFirmware("console", Firmware(k), week);
            var (deaf, down, unresponsive) = Week(k);
            var at = week.AddHours(12);
            foreach (var (state, n) in new[] { (TargetState.Deaf, deaf), (TargetState.Down, down), (TargetState.Unresponsive, unresponsive) })
                for (var i = 0; i < n; i++, at = at.AddHours(6))
                    store.CloseIncident(store.OpenIncident("console", state, at, Firmware(k)), at.AddMinutes(20), "recovered", new EvidenceCounts());
            store.Stop(week.AddDays(7));
        }
        return db;
    }

    private static string Chromium()
    {
        foreach (var path in new[] { "/usr/bin/chromium", "/usr/bin/chromium-browser" })
            if (File.Exists(path)) return path;
        Assert.Fail("headless Chromium is needed for this test: apt-get install chromium (bash .ci/deps installs it)");
        return "";
    }

    /// <summary>Measures the page in the browser: the script replaces the body with its findings, which --dump-dom prints.</summary>
    private const string Measure = """
        <script>
        const out = { pageWidth: document.documentElement.scrollWidth, charts: [], bars: [], outside: [], title: document.title };
        for (const svg of document.querySelectorAll('svg.chart')) {
          const box = svg.getBoundingClientRect();
          const plot = svg.querySelector('rect.plot').getBoundingClientRect();
          const fw = svg.dataset.firmware;
          out.charts.push({ firmware: fw, plotTop: plot.top, plotBottom: plot.bottom, plotHeight: plot.height, unwatched: [...svg.querySelectorAll('rect.unwatched')].map(r => r.dataset.week),
            ticks: [...svg.querySelectorAll('text')].filter(t => t.getAttribute('text-anchor') === 'end' && !t.classList.contains('week')).map(t => t.textContent) });
          for (const el of svg.querySelectorAll('rect, text, line')) {
            const r = el.getBoundingClientRect();
            if (r.left < box.left - 0.5 || r.right > box.right + 0.5 || r.top < box.top - 0.5 || r.bottom > box.bottom + 0.5)
              out.outside.push(fw + ': ' + el.outerHTML.slice(0, 120));
          }
          for (const bar of svg.querySelectorAll('rect.bar')) {
            const r = bar.getBoundingClientRect();
            out.bars.push({ firmware: fw, week: bar.dataset.week, state: bar.dataset.state, count: +bar.dataset.count, height: r.height, top: r.top, bottom: r.bottom, fill: getComputedStyle(bar).fill });
          }
        }
        document.body.innerHTML = '<pre id="measure">' + JSON.stringify(out).replace(/&/g, '&amp;').replace(/</g, '&lt;') + '</pre>';
        </script>
        """;

    [Fact]
    public async Task Html_AYearOfHistory_RenderedInChromium_BarsMatchTheirCounts_NothingOutsideItsChart_FitsThePage()
    {
        var chromium = Chromium();
        var db = History();
        var html = Path.Combine(_dir.FullName, "report.html");
        var until = Monday.AddDays(7 * Weeks);
        var err = new StringWriter();
        Assert.Equal(0, ReportCommand.Run(["--db", db, "--since", $"{Weeks}w", "--html", html], new StringWriter(), err, new Microsoft.Extensions.Time.Testing.FakeTimeProvider(until)));
        Assert.Equal("", err.ToString());
        var page = File.ReadAllText(html);
        // REACHPROBE_REPORT_SCREENSHOT=FILE.png keeps a picture of the page as a person sees it (for review; not asserted).
        if (Environment.GetEnvironmentVariable("REACHPROBE_REPORT_SCREENSHOT") is { Length: > 0 } shot)
        {
            var s = new ProcessStartInfo(chromium) { RedirectStandardOutput = true, RedirectStandardError = true };
            foreach (var a in new[] { "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync",
                         $"--user-data-dir={Path.Combine(_dir.FullName, "shot-profile")}", "--window-size=1280,1000", "--hide-scrollbars", $"--screenshot={shot}", "file://" + html })
                s.ArgumentList.Add(a);
            using var p = Process.Start(s)!;
            await p.StandardError.ReadToEndAsync();
            p.WaitForExit(60_000);
        }
        var measured = Path.Combine(_dir.FullName, "measured.html");
        File.WriteAllText(measured, page.Replace("</body>", Measure + "</body>", StringComparison.Ordinal));

        var start = new ProcessStartInfo(chromium) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in new[] { "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                     "--disable-component-update", "--disable-sync", $"--user-data-dir={Path.Combine(_dir.FullName, "profile")}", "--window-size=1280,4000", "--dump-dom", "file://" + measured })
            start.ArgumentList.Add(a);
        using var browser = Process.Start(start)!;
        var dom = browser.StandardOutput.ReadToEndAsync();
        var log = browser.StandardError.ReadToEndAsync();
        Assert.True(browser.WaitForExit(60_000), "Chromium did not finish within 60 s");
        var text = await dom;
        var found = System.Text.RegularExpressions.Regex.Match(text, "<pre id=\"measure\">(.*)</pre>", System.Text.RegularExpressions.RegexOptions.Singleline);
        Assert.True(found.Success, $"no measurement in Chromium's page (exit {browser.ExitCode}): {await log}");
        using var doc = JsonDocument.Parse(System.Net.WebUtility.HtmlDecode(found.Groups[1].Value));
        var m = doc.RootElement;

        Assert.Equal("ReachProbe incidents, 2025-01-06 to 2026-01-05", m.GetProperty("title").GetString());
        Assert.InRange(m.GetProperty("pageWidth").GetInt32(), 1, 1280);
        Assert.Empty(m.GetProperty("outside").EnumerateArray().Select(e => e.GetString()));
        var charts = m.GetProperty("charts").EnumerateArray().ToList();
        Assert.Equal(["7.02", "8.00"], charts.Select(c => c.GetProperty("firmware").GetString()));

        // One scale for both charts: the tallest week (3 deaf + 1 down + 2 unresponsive) is the top of the axis.
        var top = Enumerable.Range(0, Weeks).Where(k => !Off(k)).Max(k => Week(k).Deaf + Week(k).Down + Week(k).Unresponsive);
        Assert.Equal(6, top);
        var colours = new Dictionary<string, string> { ["deaf"] = "rgb(213, 94, 0)", ["down"] = "rgb(0, 114, 178)", ["unresponsive"] = "rgb(0, 158, 115)" };
        var bars = m.GetProperty("bars").EnumerateArray().ToList();
        foreach (var chart in charts)
        {
            var fw = chart.GetProperty("firmware").GetString()!;
            Assert.Equal(["0", "2", "4", "6"], chart.GetProperty("ticks").EnumerateArray().Select(t => t.GetString()));
            var perIncident = chart.GetProperty("plotHeight").GetDouble() / top;
            var expected = Enumerable.Range(0, Weeks).Where(k => !Off(k) && Firmware(k) == fw)
                .SelectMany(k => new[] { ("deaf", Week(k).Deaf), ("down", Week(k).Down), ("unresponsive", Week(k).Unresponsive) }
                    .Where(s => s.Item2 > 0).Select(s => (Week: Monday.AddDays(7 * k).ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture), State: s.Item1, Count: s.Item2)))
                .ToList();
            var drawn = bars.Where(b => b.GetProperty("firmware").GetString() == fw).ToList();
            Assert.Equal(expected, drawn.Select(b => (b.GetProperty("week").GetString()!, b.GetProperty("state").GetString()!, b.GetProperty("count").GetInt32())));
            foreach (var b in drawn)
            {
                Assert.Equal(b.GetProperty("count").GetInt32() * perIncident, b.GetProperty("height").GetDouble(), 0.6);
                Assert.InRange(b.GetProperty("top").GetDouble(), chart.GetProperty("plotTop").GetDouble() - 0.5, chart.GetProperty("plotBottom").GetDouble());
                Assert.InRange(b.GetProperty("bottom").GetDouble(), chart.GetProperty("plotTop").GetDouble(), chart.GetProperty("plotBottom").GetDouble() + 0.5);
                Assert.Equal(colours[b.GetProperty("state").GetString()!], b.GetProperty("fill").GetString());
            }
            // Hatched: the weeks the agent was off, and the weeks of the other firmware.
            var unwatched = Enumerable.Range(0, Weeks).Where(k => Off(k) || Firmware(k) != fw).Select(k => Monday.AddDays(7 * k).ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture));
            Assert.Equal(unwatched, chart.GetProperty("unwatched").EnumerateArray().Select(e => e.GetString()));
        }
    }
}
