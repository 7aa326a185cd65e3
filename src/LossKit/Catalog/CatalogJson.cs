using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using LossKit.Core;

namespace LossKit.Catalog;

/// <summary>
/// Renders the registry as JSON: the text of <c>losskit list --json</c>, an array with one object per loss (spec name,
/// kind, family, title, parameters with type, default and range, properties, reference), for tools that pick or sweep
/// losses. Every field comes from the cards and their parameter declarations.
/// </summary>
public static class CatalogJson
{
    public static string Render()
    {
        using var stream = new MemoryStream();
        using (var w = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true, Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            w.WriteStartArray();
            foreach (LossDefinition d in LossRegistry.All) Write(w, d.Card, LossRegistry.Create(d.Card.Name));
            w.WriteEndArray();
        }
        return Encoding.UTF8.GetString(stream.ToArray()).Replace("\r\n", "\n") + "\n";
    }

    /// <summary>One loss: its card, and the kind of <paramref name="instance"/> (a default-configured loss).</summary>
    private static void Write(Utf8JsonWriter w, LossCard card, ILoss instance)
    {
        w.WriteStartObject();
        w.WriteString("spec", card.Name);
        w.WriteString("kind", instance.Kind.Name);
        w.WriteString("family", card.Family);
        w.WriteString("title", card.Title);
        w.WriteStartArray("parameters");
        foreach (LossParameter p in card.Parameters) Write(w, p);
        w.WriteEndArray();
        w.WriteStartArray("properties");
        foreach (LossProperties p in LossCard.Each(card.Properties)) w.WriteStringValue(PropertyKey(p));
        w.WriteEndArray();
        w.WriteString("reference", card.Reference);
        w.WriteEndObject();
    }

    private static void Write(Utf8JsonWriter w, LossParameter p)
    {
        w.WriteStartObject();
        w.WriteString("name", p.Name);
        w.WriteString("type", p.TypeName);
        w.WritePropertyName("default");
        switch (p.DefaultValue)
        {
            case null: w.WriteNullValue(); break;
            case { Identifier: { } id }: w.WriteStringValue(id); break;
            case { List: { } list }:
                w.WriteStartArray();
                foreach (double v in list) Number(w, v);
                w.WriteEndArray();
                break;
            case { Number: { } n }: Number(w, n); break;
        }
        if (p.Kind == ParameterKind.Choice)
        {
            w.WriteStartArray("choices");
            foreach (string c in p.Choices) w.WriteStringValue(c);
            w.WriteEndArray();
        }
        else
        {
            Bound(w, "min", p.LowerBound);
            w.WriteBoolean("min_exclusive", p.MinExclusive);
            Bound(w, "max", p.UpperBound);
            w.WriteBoolean("max_exclusive", p.MaxExclusive);
        }
        w.WriteString("range", p.RangeText);
        w.WriteString("description", p.Description);
        w.WriteEndObject();
    }

    /// <summary>A bound, or null where the range is open on that side.</summary>
    private static void Bound(Utf8JsonWriter w, string name, double v)
    {
        w.WritePropertyName(name);
        if (double.IsFinite(v)) Number(w, v); else w.WriteNullValue();
    }

    /// <summary>Integers as integers, anything else as the shortest double that reads back the same.</summary>
    private static void Number(Utf8JsonWriter w, double v)
    {
        if (v == Math.Floor(v) && Math.Abs(v) < 1e15) w.WriteNumberValue((long)v);
        else w.WriteNumberValue(v);
    }

    /// <summary>A property as a JSON identifier: <c>shift_invariant</c>, <c>margin_based</c>, ...</summary>
    public static string PropertyKey(LossProperties p)
    {
        string name = p.ToString();
        var sb = new StringBuilder();
        for (int i = 0; i < name.Length; i++)
        {
            if (char.IsUpper(name[i]) && i > 0) sb.Append('_');
            sb.Append(char.ToLowerInvariant(name[i]));
        }
        return sb.ToString();
    }
}
