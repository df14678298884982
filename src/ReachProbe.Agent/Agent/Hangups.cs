using System.Runtime.InteropServices;

namespace ReachProbe.Agent;

/// <summary>
/// SIGHUP, caught from the moment <c>run</c> starts — before the configuration is read, the metrics endpoint bound or
/// the reload handler built — so that a reload asked for too early (a unit reloaded as it starts) is kept and done
/// once the agent can, never the signal's default action, which ends the process. Signals that come before
/// <see cref="Attach"/> are coalesced into one reload.
/// </summary>
public sealed class Hangups : IDisposable
{
    private readonly Lock _lock = new();
    private readonly PosixSignalRegistration _registration;
    private Action? _handler;
    private bool _pending;

    /// <summary>Catches SIGHUP from now on.</summary>
    public Hangups() => _registration = PosixSignalRegistration.Create(PosixSignal.SIGHUP, context =>
    {
        context.Cancel = true; // SIGHUP must not end the process
        Raise();
    });

    /// <summary>Signals received while no handler was attached (cleared by <see cref="Attach"/>).</summary>
    public bool Pending
    {
        get
        {
            lock (_lock) return _pending;
        }
    }

    /// <summary>What SIGHUP does from now on; one held back from before is handed over at once.</summary>
    public void Attach(Action handler)
    {
        bool pending;
        lock (_lock)
        {
            _handler = handler;
            pending = _pending;
            _pending = false;
        }
        if (pending) handler();
    }

    /// <summary>Back to holding signals (the handler's owner is stopping).</summary>
    public void Detach()
    {
        lock (_lock) _handler = null;
    }

    /// <summary>What a SIGHUP does: hands it to the handler, or keeps it for the next one attached.</summary>
    internal void Raise()
    {
        Action? handler;
        lock (_lock)
        {
            handler = _handler;
            if (handler is null) _pending = true;
        }
        handler?.Invoke();
    }

    /// <inheritdoc/>
    public void Dispose() => _registration.Dispose();
}
