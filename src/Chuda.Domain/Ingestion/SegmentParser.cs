namespace Chuda.Domain.Ingestion;

/// <summary>Parses and validates Segment Tracking API bodies. Pure: no I/O, time comes in as an argument.</summary>
public static class SegmentParser
{
}
