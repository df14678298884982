using System.Text.Json.Serialization;

namespace ReachProbe.Analysis;

// The JSON report's shape (README "JSON"), written by System.Text.Json's source generator: one record per object, in
// the order the fields appear. ReportWriter fills them from an AnalysisResult.

internal sealed record JsonReport(string File, long Packets, double DurationSeconds, string LinkType, JsonView View, string? Start, bool Complete, string? Error,
    JsonCounts Counts, IReadOnlyList<JsonTarget> Targets);

internal sealed record JsonView([property: JsonPropertyName("view")] string Name, string Source, string? CapturedBy);

internal sealed record JsonCounts(long Bytes, long ArpRequests, long ArpReplies, long ArpGratuitous, long EchoRequests, long EchoReplies, long DnsQueries,
    long DnsResponses, long TcpSyn, long TcpSynAck, long Ipv6, long NdpSolicitations, long NdpAdvertisements, long NdpUnsolicited, long EchoV6Requests,
    long EchoV6Replies, IReadOnlyDictionary<string, long> Malformed);

internal sealed record JsonTarget(string Ip, string Family, string? Mac, string FinalState, string? LastFrame, IReadOnlyList<JsonIncident> Incidents, IReadOnlyList<JsonChange> Changes,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] IReadOnlyDictionary<string, string>? Labels = null);

internal sealed record JsonIncident(string State, string Start, string? End, double StartOffsetSeconds, double? EndOffsetSeconds, string EndReason,
    IReadOnlyDictionary<string, long> Evidence);

internal sealed record JsonChange(string State, string At, double OffsetSeconds, string Cause);

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, WriteIndented = true)]
[JsonSerializable(typeof(JsonReport))]
internal sealed partial class ReportJsonContext : JsonSerializerContext;
