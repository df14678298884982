using Xunit.Abstractions;

namespace ReachProbe.Tests.Lab;

/// <summary>Builds the lab for a test: a missing root fails the test with the reason (it never passes silently).</summary>
internal static class Lab
{
    public static LabNetwork Create(ITestOutputHelper output, LabTopology topology = LabTopology.Bridge, LabIPv6 ipv6 = LabIPv6.Off)
    {
        try
        {
            return LabNetwork.Create(output.WriteLine, topology, ipv6);
        }
        catch (LabUnavailableException e)
        {
            Assert.Fail(e.Message);
            throw;
        }
    }
}
