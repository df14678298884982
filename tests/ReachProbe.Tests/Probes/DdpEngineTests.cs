using System.Net;
using System.Net.Sockets;
using System.Text;
using ReachProbe.Probes;

namespace ReachProbe.Tests.Probes;

/// <summary>
/// The shared DDP socket on loopback: consoles (UDP responders on 127.0.0.x:9302, written here) answer each search
/// from their own address, and each probe gets its own console's answer; a silent address times out. Forty targets:
/// with a socket per probe only 17 could be searched (ports 9303–9319).
/// </summary>
public class DdpEngineTests
{
    private sealed class Consoles : IDisposable
    {
        private readonly List<Socket> _sockets = [];
        private volatile bool _stop;

        public Consoles(IEnumerable<int> hosts)
        {
            foreach (var h in hosts)
            {
                var s = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp) { ReceiveTimeout = 200 };
                s.Bind(new IPEndPoint(IPAddress.Parse($"127.0.0.{h}"), Ddp.Ps5Port));
                _sockets.Add(s);
                new Thread(() => Answer(s, h)) { IsBackground = true }.Start();
            }
        }

        private void Answer(Socket s, int host)
        {
            var buffer = new byte[2048];
            while (!_stop)
            {
                EndPoint from = new IPEndPoint(IPAddress.Any, 0);
                try
                {
                    s.ReceiveFrom(buffer, ref from);
                    s.SendTo(Encoding.ASCII.GetBytes($"HTTP/1.1 200 Ok\nhost-type:PS5\nhost-name:console-{host}\n"), from);
                }
                catch (Exception e) when (e is SocketException or ObjectDisposedException)
                {
                }
            }
        }

        public void Dispose()
        {
            _stop = true;
            foreach (var s in _sockets) s.Dispose();
        }
    }

    [Fact]
    public async Task FortyConsoles_EachProbeGetsItsOwnAnswer_ASilentAddressTimesOut()
    {
        var hosts = Enumerable.Range(10, 40).ToList();
        using var consoles = new Consoles(hosts);
        var results = await Task.WhenAll(hosts.Append(200).Select(h =>
            EngineProbe.RunAsync(new DdpProbe(IPAddress.Parse($"127.0.0.{h}")), TimeSpan.FromSeconds(h == 200 ? 0.3 : 5))));
        for (var i = 0; i < hosts.Count; i++)
        {
            Assert.Equal(ProbeStatus.Answered, results[i].Status);
            Assert.Equal($"console-{hosts[i]}", results[i].Console!.HostName);
        }
        Assert.Equal(ProbeStatus.Timeout, results[^1].Status); // nothing at 127.0.0.200:9302
        Assert.Equal(0, DdpEngine.Shared.Pending);
    }
}
