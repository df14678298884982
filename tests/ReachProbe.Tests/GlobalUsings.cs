global using ReachProbe.Testing;
global using ReachProbe.Verdict;
global using ReachProbe.Wire;
global using ReachProbe.Wire.Trackers;
global using static ReachProbe.Testing.Scenarios;
global using static ReachProbe.Tests.TestFrames;
