using System.Text;

namespace ReachProbe.Cli;

/// <summary>
/// Standard output, whose failure (a full disk, <c>&gt; /dev/full</c>, a closed pipe) is told apart from every other
/// I/O error: it ends the command with one line and exit 74 (EX_IOERR) rather than a stack trace.
/// </summary>
internal sealed class OutputWriter(TextWriter inner) : TextWriter
{
    public override Encoding Encoding => inner.Encoding;

    public override void Write(char value) => Guard(() => inner.Write(value));

    public override void Write(string? value) => Guard(() => inner.Write(value));

    public override void Write(char[] buffer, int index, int count) => Guard(() => inner.Write(buffer, index, count));

    public override void WriteLine(string? value) => Guard(() => inner.WriteLine(value));

    public override void WriteLine() => Guard(inner.WriteLine);

    public override void Flush() => Guard(inner.Flush);

    private static void Guard(Action write)
    {
        try
        {
            write();
        }
        catch (IOException e)
        {
            throw new OutputException(e.Message, e);
        }
    }
}

/// <summary>Standard output could not be written.</summary>
internal sealed class OutputException(string message, Exception inner) : Exception(message, inner);
