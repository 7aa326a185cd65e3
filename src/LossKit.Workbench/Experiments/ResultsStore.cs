using System.Text;
using System.Text.Json;
using LossKit.Workbench.Training;

namespace LossKit.Workbench.Experiments;

/// <summary>What <see cref="ResultsStore.Load"/> found in a folder.</summary>
/// <param name="Records">Every readable record, one per key (a key seen twice keeps its last record, files taken in name order).</param>
/// <param name="Files">The results files read.</param>
/// <param name="BadLines">Complete lines that did not hold a record (skipped).</param>
/// <param name="PartialLines">Files whose last line was cut off (no line break at the end; ignored, and repaired on the next append).</param>
public sealed record LoadedResults(IReadOnlyList<RunRecord> Records, IReadOnlyList<string> Files, int BadLines, int PartialLines)
{
    /// <summary>Keys of the records.</summary>
    public IReadOnlySet<string> Keys => Records.Select(r => r.Key).ToHashSet(StringComparer.Ordinal);
}

/// <summary>
/// Results files: JSON Lines (<c>results.jsonl</c>, or <c>results.shard-i-of-n.jsonl</c> for shards), one
/// <see cref="RunRecord"/> per line. A line is written with one write call and flushed to disk, so a crash leaves at most
/// a partial last line; readers ignore it and the next writer cuts it off before appending.
/// </summary>
public static class ResultsStore
{
    /// <summary>The default results file name.</summary>
    public const string DefaultFileName = "results.jsonl";

    /// <summary>The results files' name pattern.</summary>
    public const string Pattern = "results*.jsonl";

    /// <summary>The tuning trials' file name (shards: <c>tuning.shard-i-of-n.jsonl</c>); not part of a report.</summary>
    public const string TuningFileName = "tuning.jsonl";

    /// <summary>The tuning files' name pattern.</summary>
    public const string TuningPattern = "tuning*.jsonl";

    /// <summary>Files in <paramref name="dir"/> matching <paramref name="pattern"/> (every <c>results*.jsonl</c> by default), in ordinal name order.</summary>
    public static IReadOnlyList<string> Files(string dir, string pattern = Pattern) =>
        Directory.Exists(dir)
            ? Directory.GetFiles(dir, pattern).Order(StringComparer.Ordinal).ToArray()
            : [];

    /// <summary>Reads every results file in <paramref name="dir"/> (a missing folder has none); <paramref name="pattern"/>
    /// picks other files of the same format (<see cref="TuningPattern"/>).</summary>
    public static LoadedResults Load(string dir, string pattern = Pattern)
    {
        var byKey = new Dictionary<string, RunRecord>(StringComparer.Ordinal);
        var order = new List<string>();
        int bad = 0, partial = 0;
        var files = Files(dir, pattern);
        foreach (string file in files)
        {
            var (records, badLines, partialLine) = ReadFile(file);
            bad += badLines;
            if (partialLine) partial++;
            foreach (var r in records)
            {
                if (!byKey.ContainsKey(r.Key)) order.Add(r.Key);
                byKey[r.Key] = r;
            }
        }
        return new LoadedResults(order.Select(k => byKey[k]).ToArray(), files, bad, partial);
    }

    /// <summary>Reads one results file: its records, how many complete lines were not records, and whether the last line is cut off.</summary>
    public static (List<RunRecord> Records, int BadLines, bool PartialLastLine) ReadFile(string path)
    {
        byte[] bytes = File.ReadAllBytes(path);
        int end = bytes.Length;
        bool partial = false;
        if (end > 0 && bytes[end - 1] != (byte)'\n')
        {
            int lastBreak = Array.LastIndexOf(bytes, (byte)'\n', end - 1);
            end = lastBreak + 1;
            partial = true;
        }
        var records = new List<RunRecord>();
        int bad = 0;
        foreach (string line in Encoding.UTF8.GetString(bytes, 0, end).Split('\n'))
        {
            if (string.IsNullOrWhiteSpace(line)) continue;
            try
            {
                var r = RunRecord.FromJson(line);
                if (string.IsNullOrEmpty(r.Key) || r.Config is null) { bad++; continue; }
                records.Add(r);
            }
            catch (JsonException)
            {
                bad++;
            }
        }
        return (records, bad, partial);
    }

    /// <summary>
    /// Makes sure <paramref name="dir"/> exists and accepts new files, before any work is done: creates it if needed and
    /// writes and deletes a probe file. Throws an <see cref="IOException"/> with one line saying why not.
    /// </summary>
    public static void EnsureWritable(string dir)
    {
        ArgumentNullException.ThrowIfNull(dir);
        string full = Path.GetFullPath(dir);
        try
        {
            if (File.Exists(full)) throw new IOException("it is a file, not a folder");
            Directory.CreateDirectory(full);
            string probe = Path.Combine(full, $".losskit-probe-{Environment.ProcessId}-{Guid.NewGuid():N}");
            using (var s = new FileStream(probe, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1, FileOptions.DeleteOnClose))
                s.WriteByte(0);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or NotSupportedException)
        {
            throw new IOException($"output folder '{dir}' is not writable: {e.Message.Replace('\n', ' ')}", e);
        }
    }
}

/// <summary>Appends records to one results file, one complete line per write. Thread-safe.</summary>
public sealed class ResultsWriter : IDisposable
{
    private readonly FileStream _stream;
    private readonly object _gate = new();

    /// <summary>Opens <paramref name="path"/> for appending (creating it), first cutting off a partial last line left by a crash.</summary>
    public ResultsWriter(string path)
    {
        Path = path;
        _stream = new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.Read, bufferSize: 1);
        RepairTail();
        _stream.Seek(0, SeekOrigin.End);
    }

    /// <summary>The file written to.</summary>
    public string Path { get; }

    /// <summary>Bytes cut off the end of the file when it was opened (a partial last line), 0 if none.</summary>
    public long RepairedBytes { get; private set; }

    /// <summary>Appends one record as one line (a single write, then a flush to disk).</summary>
    public void Append(RunRecord record)
    {
        ArgumentNullException.ThrowIfNull(record);
        byte[] line = Encoding.UTF8.GetBytes(record.ToJson() + "\n");
        lock (_gate)
        {
            _stream.Write(line, 0, line.Length);
            _stream.Flush(flushToDisk: true);
        }
    }

    private void RepairTail()
    {
        long length = _stream.Length;
        if (length == 0) return;
        // Walk back from the end to the last line break.
        var buffer = new byte[4096];
        long pos = length;
        long keep = 0;
        while (pos > 0)
        {
            int chunk = (int)Math.Min(buffer.Length, pos);
            pos -= chunk;
            _stream.Seek(pos, SeekOrigin.Begin);
            _stream.ReadExactly(buffer, 0, chunk);
            int i = Array.LastIndexOf(buffer, (byte)'\n', chunk - 1);
            if (i >= 0) { keep = pos + i + 1; break; }
        }
        if (keep < length)
        {
            _stream.SetLength(keep);
            _stream.Flush(flushToDisk: true);
            RepairedBytes = length - keep;
        }
    }

    public void Dispose() => _stream.Dispose();
}
