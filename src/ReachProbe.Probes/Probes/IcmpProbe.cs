using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;

namespace ReachProbe.Probes;

/// <summary>
/// ICMP echo through the process's one ICMP socket (<see cref="IcmpEngine"/>): raw as root (or with CAP_NET_RAW), else an
/// unprivileged datagram ICMP socket where <c>net.ipv4.ping_group_range</c> allows. The agent has one random identifier,
/// each probe its own sequence, and a microsecond RTT (System.Net.NetworkInformation.Ping shells out to /bin/ping as non-root).
/// </summary>
public sealed class IcmpProbe(IPAddress target, TimeProvider? time = null) : IEngineProbe
{
    private readonly TimeProvider _time = time ?? TimeProvider.System;

    private ushort _sequence = (ushort)RandomNumberGenerator.GetInt32(0, 65536);

    /// <inheritdoc/>
    /// <remarks>"icmp6" for an IPv6 target: a device watched in both families has both.</remarks>
    public string Name { get; } = target.AddressFamily == AddressFamily.InterNetworkV6 ? "icmp6" : "icmp";

    /// <summary>The sequence number of the attempt in progress or last made (each result carries its own).</summary>
    public ushort Sequence => _sequence;

    /// <inheritdoc/>
    /// <remarks>Through the process's one ICMP socket (<see cref="IcmpEngine"/>); the answer is this attempt's by its sequence number.</remarks>
    public void Start(TimeSpan timeout, Action<ProbeResult> done)
    {
        var sequence = ++_sequence;
        var started = _time.GetTimestamp();
        try
        {
            IcmpEngine.Shared.Echo(target, sequence, timeout, _time, answer => done(Result(_targetAddress, answer, _time.GetElapsedTime(started), timeout) with { EchoSequence = sequence }));
        }
        catch (Exception e) when (e is InvalidOperationException or SocketException)
        {
            done(NotSent(e, _time.GetElapsedTime(started)) with { EchoSequence = sequence });
        }
    }

    /// <inheritdoc/>
    public Task<ProbeResult> ProbeAsync(CancellationToken cancellation) => EngineProbe.UntilCancelledAsync(this, cancellation);

    private readonly UInt128 _targetAddress = Wire.Addresses.ToKey(target);

    /// <summary>
    /// What an attempt's answer says. A destination unreachable sent by the target itself (its firewall's reject: port,
    /// protocol or administratively prohibited) means the request reached it and it answered: refused, proof of receipt,
    /// as a TCP RST is. The same from a router (no route, no ARP answer) says nothing of the target: unreachable.
    /// </summary>
    internal static ProbeResult Result(UInt128 target, IcmpEngine.Answer? answer, TimeSpan elapsed, TimeSpan timeout) => Result(Wire.Addresses.IsV4(target) ? "icmp" : "icmp6", target, answer, elapsed, timeout);

    private static ProbeResult Result(string name, UInt128 target, IcmpEngine.Answer? answer, TimeSpan elapsed, TimeSpan timeout) => answer switch
    {
        null => new ProbeResult(name, ProbeStatus.Timeout, elapsed, "timeout"),
        // The sweep runs every few milliseconds: an answer it had not yet cut off, but after the deadline, is late — lost.
        _ when elapsed > timeout => new ProbeResult(name, ProbeStatus.Timeout, elapsed, ProbeRunner.AnsweredLate(elapsed)),
        { Kind: IcmpMatch.Reply } => new ProbeResult(name, ProbeStatus.Answered, elapsed, "echo reply"),
        { Type: 3 } a when a.From == target => new ProbeResult(name, ProbeStatus.Refused, elapsed, $"refused by the target: {IcmpPacket.Describe(a.Type, a.Code)} — host receives")
        {
            ErrorFrom = $"{Wire.Addresses.Ip(a.From)} (type {a.Type} code {a.Code})",
        },
        { } a => new ProbeResult(name, ProbeStatus.Unreachable, elapsed, IcmpPacket.Describe(a.Type, a.Code))
        {
            ErrorFrom = $"{Wire.Addresses.Ip(a.From)} (type {a.Type} code {a.Code})",
        },
    };

    /// <summary>The kernel would not send the request (no route, no neighbour), or no ICMP socket could be had.</summary>
    private ProbeResult NotSent(Exception e, TimeSpan elapsed) => e switch
    {
        InvalidOperationException => new ProbeResult(Name, ProbeStatus.Error, TimeSpan.Zero, e.Message),
        SocketException { SocketErrorCode: SocketError.HostUnreachable or SocketError.NetworkUnreachable or SocketError.HostDown } s =>
            new ProbeResult(Name, ProbeStatus.Unreachable, elapsed, Describe(s.SocketErrorCode)),
        _ => new ProbeResult(Name, ProbeStatus.Error, elapsed, e.Message),
    };

    private static string Describe(SocketError error) => error switch
    {
        SocketError.HostUnreachable => "host unreachable (no ARP or neighbour discovery answer)",
        SocketError.NetworkUnreachable => "network unreachable (no route)",
        _ => error.ToString(),
    };

    /// <inheritdoc/>
    public void Dispose()
    {
    }
}
