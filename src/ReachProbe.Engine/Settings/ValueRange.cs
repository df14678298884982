using System.Globalization;

namespace ReachProbe.Settings;

/// <summary>
/// The accepted values of one setting, declared once and used by the command line, the configuration file and the
/// code that takes the value. Numbers are read with the invariant culture; a whole-number setting refuses fractions.
/// </summary>
/// <param name="Min">Smallest accepted value.</param>
/// <param name="Max">Largest accepted value.</param>
/// <param name="Whole">Only whole numbers.</param>
/// <param name="Unit">What a value is when it is neither seconds nor a whole number ("a factor").</param>
public sealed record ValueRange(double Min, double Max, bool Whole = false, string? Unit = null)
{
    /// <summary>What a value is, for messages: "seconds", "a whole number" or <see cref="Unit"/>.</summary>
    public string Noun => Unit ?? (Whole ? "a whole number" : "seconds");

    /// <summary>"1–100", "0.1–60".</summary>
    public string Text => string.Create(CultureInfo.InvariantCulture, $"{Min}–{Max}");

    /// <summary>True when <paramref name="value"/> is accepted.</summary>
    public bool Contains(double value) => double.IsFinite(value) && value >= Min && value <= Max && (!Whole || Math.Floor(value) == value);

    /// <summary>Reads text as a value of this range; false for text that is not a number or is out of range.</summary>
    public bool TryParse(string text, out double value) =>
        double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out value) && Contains(value);

    /// <summary>"takes seconds (0.1–60), not 'soon'": the tail of a message that names the setting first.</summary>
    public string Problem(string text) => $"takes {Noun} ({Text}), not '{Quote.Clip(text)}'";
}

/// <summary>Quoting of values a user gave, so a message stays one readable line whatever was typed.</summary>
public static class Quote
{
    /// <summary>Longest part of a bad value repeated in a message.</summary>
    public const int MaxLength = 80;

    /// <summary>At most <see cref="MaxLength"/> characters of <paramref name="text"/>, control characters shown as '?'.</summary>
    public static string Clip(string text)
    {
        var s = text.Length <= MaxLength ? text : text[..MaxLength] + "…";
        return string.Create(s.Length, s, (span, src) =>
        {
            for (var i = 0; i < src.Length; i++) span[i] = char.IsControl(src[i]) ? '?' : src[i];
        });
    }
}
