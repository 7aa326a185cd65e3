using System.Text.Json;
using LossKit.Catalog;

namespace LossKit.Cli.Tests;

/// <summary><c>losskit bench --all</c>: one row per registered loss and shape, with the documented JSON keys (tiny
/// shapes with <c>--quick</c>, so this is a check of the table, not a measurement).</summary>
public class BenchAllCliTests
{
    private static readonly string[] Keys =
        ["loss", "rows", "classes", "seconds_median", "gbps", "fraction_of_copy", "ratio_to_ce", "allocated_bytes"];

    [Fact]
    public void Every_registered_loss_has_a_row_with_the_documented_keys()
    {
        var (code, output, err) = CliHarness.Run("bench", "--all", "--quick", "--threads", "1", "--runs", "1", "--json");
        Assert.True(code == 0, err);
        using var doc = JsonDocument.Parse(output);
        var seen = new HashSet<string>();
        foreach (JsonElement row in doc.RootElement.EnumerateArray())
        {
            Assert.Equal(Keys, row.EnumerateObject().Select(p => p.Name));
            string loss = row.GetProperty("loss").GetString()!;
            seen.Add(loss);
            // Every loss runs on its kind's quick shape: a time, a bandwidth and an allocation figure, never null.
            Assert.True(row.GetProperty("seconds_median").ValueKind == JsonValueKind.Number, $"{loss}: no time ({err})");
            Assert.True(row.GetProperty("seconds_median").GetDouble() > 0, loss);
            Assert.True(row.GetProperty("gbps").GetDouble() > 0, loss);
            Assert.True(row.GetProperty("allocated_bytes").GetDouble() >= 0, loss);
            bool classification = LossRegistry.Create(loss).Kind.Name == "classification";
            Assert.Equal(classification, row.GetProperty("ratio_to_ce").ValueKind == JsonValueKind.Number);
            if (loss == "ce") Assert.Equal(1.0, row.GetProperty("ratio_to_ce").GetDouble());
        }
        Assert.Equal(LossRegistry.All.Select(d => d.Card.Name).Order(), seen.Order());
    }
}
