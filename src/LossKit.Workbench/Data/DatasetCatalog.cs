using System.Globalization;

namespace LossKit.Workbench.Data;

/// <summary>
/// Loads the workbench's named data sets.
/// <list type="bullet">
/// <item><c>digits</c> (1797×64, 10 classes, pixel values 0..16), <c>wine</c> (178×13, 3 classes),
/// <c>iris</c> (150×4, 3 classes), <c>breast_cancer</c> (569×30, binary: 0 = malignant, 1 = benign) and
/// <c>diabetes</c> (442×10 raw features, regression) are embedded in this assembly (copies of the UCI sets as
/// shipped by scikit-learn 1.2.1; see <c>data/README.md</c>).</item>
/// <item><c>fashion-mnist</c> and <c>mnist</c> (60000 train + 10000 provided test rows, 28×28 = 784 pixel
/// features, 10 classes) are read from the four standard IDX files (<c>train-images-idx3-ubyte.gz</c>,
/// <c>train-labels-idx1-ubyte.gz</c>, <c>t10k-images-idx3-ubyte.gz</c>, <c>t10k-labels-idx1-ubyte.gz</c>; the
/// uncompressed names without <c>.gz</c> are accepted too) in <c>/usr/share/datasets/fashion-mnist/</c>
/// (<c>apt-get install -y dataset-fashion-mnist</c>) or <c>/usr/share/datasets/mnist/</c>, or in the given folder.</item>
/// </list>
/// Feature values are as stored in the files (no scaling: image pixels are 0..255, digits 0..16); use
/// <see cref="Standardizer"/> on the training split. Names are matched case-insensitively, with '-' and '_' treated alike.
/// </summary>
public static class DatasetCatalog
{
    /// <summary>Default folder of the Fashion-MNIST IDX files (Debian package <c>dataset-fashion-mnist</c>).</summary>
    public const string DefaultFashionMnistDir = "/usr/share/datasets/fashion-mnist/";

    /// <summary>Default folder looked in for the MNIST IDX files.</summary>
    public const string DefaultMnistDir = "/usr/share/datasets/mnist/";

    /// <summary>Names of the data sets embedded in the assembly.</summary>
    public static IReadOnlyList<string> EmbeddedNames { get; } = ["digits", "wine", "iris", "breast_cancer", "diabetes"];

    /// <summary>Every name <see cref="Load"/> accepts.</summary>
    public static IReadOnlyList<string> Names { get; } = [.. EmbeddedNames, "fashion-mnist", "mnist"];

    private const string ResourcePrefix = "LossKit.Data.";

    private static readonly string[] FashionClassNames =
        ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"];

    private static readonly string[] DigitClassNames = ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"];

    private static readonly string[] IrisFeatures =
        ["sepal length (cm)", "sepal width (cm)", "petal length (cm)", "petal width (cm)"];

    private static readonly string[] WineFeatures =
    [
        "alcohol", "malic_acid", "ash", "alcalinity_of_ash", "magnesium", "total_phenols", "flavanoids",
        "nonflavanoid_phenols", "proanthocyanins", "color_intensity", "hue", "od280/od315_of_diluted_wines", "proline",
    ];

    private static readonly string[] BreastCancerFeatures = BuildBreastCancerFeatures();

    private static readonly string[] DiabetesFeatures = ["age", "sex", "bmi", "bp", "s1", "s2", "s3", "s4", "s5", "s6"];

    /// <summary>
    /// Loads the data set called <paramref name="name"/> (one of <see cref="Names"/>).
    /// </summary>
    /// <param name="name">Data set name, e.g. <c>iris</c> or <c>fashion-mnist</c>.</param>
    /// <param name="dataDir">
    /// Folder to read the files from instead of the default: for the IDX sets, the folder with the four IDX files;
    /// for the embedded sets, a folder holding files of the same names as in <c>data/</c> (e.g. <c>iris.csv</c>),
    /// read instead of the embedded copies.
    /// </param>
    /// <exception cref="ArgumentException">Unknown name (the message lists the valid ones).</exception>
    /// <exception cref="FileNotFoundException">A file is missing (the message names it and how to get it).</exception>
    /// <exception cref="InvalidDataException">A file is corrupt or inconsistent (the message names it and what is wrong).</exception>
    public static Dataset Load(string name, string? dataDir = null) => Load(name, dataDir, null);

    /// <summary>
    /// Loads a named data set, or a file of the user's (<see cref="IsFile"/>): CSV with a header line
    /// (<see cref="CsvDataset"/>; <c>.tsv</c>: tab-separated) or JSON Lines (<see cref="JsonlDataset"/>), whose target
    /// column is <paramref name="target"/> (default: the last column). A relative file path is read from
    /// <paramref name="dataDir"/> when given.
    /// </summary>
    public static Dataset Load(string name, string? dataDir, string? target)
    {
        ArgumentNullException.ThrowIfNull(name);
        if (IsFile(name))
        {
            string path = dataDir is null || Path.IsPathRooted(name) ? name : Path.Combine(dataDir, name);
            string lower = path.ToLowerInvariant();
            if (lower.EndsWith(".gz", StringComparison.Ordinal)) lower = lower[..^3];
            return lower.EndsWith(".jsonl", StringComparison.Ordinal) || lower.EndsWith(".ndjson", StringComparison.Ordinal)
                ? JsonlDataset.Load(path, target)
                : CsvDataset.Load(path, target, null, lower.EndsWith(".tsv", StringComparison.Ordinal) ? '\t' : ',');
        }
        if (target is not null)
            throw new ArgumentException($"--target {target}: a target column is chosen only for a data file (--data FILE.csv or FILE.jsonl); '{name}' is a built-in data set.");
        string key = Normalise(name);
        return key switch
        {
            "digits" => LoadDigits(dataDir),
            "wine" => LoadSklearnCsv("wine", "wine_data.csv", WineFeatures, dataDir),
            "iris" => LoadSklearnCsv("iris", "iris.csv", IrisFeatures, dataDir),
            "breast_cancer" => LoadSklearnCsv("breast_cancer", "breast_cancer.csv", BreastCancerFeatures, dataDir),
            "diabetes" => LoadDiabetes(dataDir),
            "fashion_mnist" => LoadIdxSet("fashion-mnist", dataDir ?? DefaultFashionMnistDir, FashionClassNames,
                dataDir is null
                    ? "install it with `apt-get install -y dataset-fashion-mnist`, or pass --data-dir DIR naming a folder with the four Fashion-MNIST IDX files"
                    : "the folder given as --data-dir must hold the four IDX files; the default folder comes from `apt-get install -y dataset-fashion-mnist`"),
            "mnist" => LoadIdxSet("mnist", dataDir ?? DefaultMnistDir, DigitClassNames,
                "put the four MNIST IDX files (train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz, t10k-images-idx3-ubyte.gz, t10k-labels-idx1-ubyte.gz) in a folder and pass it as --data-dir DIR"),
            _ => throw new ArgumentException(
                $"unknown data set '{name}'; valid names are: {string.Join(", ", Names)}, or a data file (.csv, .tsv or .jsonl; see docs/data.md).", nameof(name)),
        };
    }

    /// <summary>File extensions read as data files (optionally followed by <c>.gz</c>).</summary>
    public static IReadOnlyList<string> FileExtensions { get; } = [".csv", ".tsv", ".jsonl", ".ndjson"];

    /// <summary>True when <paramref name="data"/> names a data file (by its extension) rather than a built-in data set.</summary>
    public static bool IsFile(string data)
    {
        string lower = data.Trim().ToLowerInvariant();
        if (lower.EndsWith(".gz", StringComparison.Ordinal)) lower = lower[..^3];
        return FileExtensions.Any(e => lower.EndsWith(e, StringComparison.Ordinal));
    }

    private static string Normalise(string name) => name.Trim().ToLowerInvariant().Replace('-', '_');

    // ---------------------------------------------------------------- embedded sets

    /// <summary>Opens a data file: from <paramref name="dataDir"/> when given, else the embedded resource of that file name.</summary>
    private static (Stream Stream, string Source) OpenDataFile(string fileName, string? dataDir)
    {
        if (dataDir is not null)
        {
            string path = Path.Combine(dataDir, fileName);
            return (DataFiles.Open(path, "pass a --data-dir folder holding it, or none to use the embedded copy"), path);
        }
        var asm = typeof(DatasetCatalog).Assembly;
        var raw = asm.GetManifestResourceStream(ResourcePrefix + fileName)
            ?? throw new FileNotFoundException(
                $"embedded data file {fileName} is missing from {asm.GetName().Name} (resource {ResourcePrefix}{fileName}); the assembly was built without data/{fileName}.", fileName);
        return (DataFiles.MaybeDecompress(raw), "embedded " + fileName);
    }

    private static List<string> ReadAllLines(string fileName, string? dataDir, out string source)
    {
        var (stream, src) = OpenDataFile(fileName, dataDir);
        source = src;
        using (stream)
        {
            try
            {
                return TextRows.ReadLines(stream);
            }
            catch (InvalidDataException e)
            {
                throw new InvalidDataException($"{src}: corrupt gzip data ({IdxReader.OneLine(e.Message)}).", e);
            }
        }
    }

    /// <summary>
    /// scikit-learn's CSV layout: first line <c>rows,features,class0,class1,...</c>, then one line per row with the
    /// features and an integer label last.
    /// </summary>
    private static Dataset LoadSklearnCsv(string name, string fileName, string[] featureNames, string? dataDir)
    {
        var lines = ReadAllLines(fileName, dataDir, out string source);
        if (lines.Count == 0)
            throw new DataFormatException(source, [new LineProblem(1, "the file is empty")]);
        var head = TextRows.Split(lines[0], ',', out _) ?? [];
        if (head.Count < 3
            || !int.TryParse(head[0], NumberStyles.None, CultureInfo.InvariantCulture, out int rows)
            || !int.TryParse(head[1], NumberStyles.None, CultureInfo.InvariantCulture, out int featureCount)
            || featureCount < 1)
            throw new DataFormatException(source, [new LineProblem(1,
                $"expected a first line 'rows,features,class names...' (e.g. '150,4,setosa,versicolor,virginica'), found {TextRows.Show(lines[0])}")]);
        string[] classNames = head.Skip(2).ToArray();
        if (featureNames.Length != featureCount)
            throw new InvalidDataException(
                $"{source}: the first line declares {featureCount} features but data set '{name}' has {featureNames.Length}.");
        if (lines.Count - 1 != rows)
            throw new InvalidDataException(
                $"{source}: the first line declares {rows} rows but the file has {lines.Count - 1} data lines (truncated or wrong file).");

        var (features, labels) = ParseNumericRows(lines, 1, featureCount, classNames.Length, source);
        var task = classNames.Length == 2 ? DatasetTask.Binary : DatasetTask.Classification;
        return new Dataset(name, task, features, featureCount, labels, null, classNames, featureNames);
    }

    private static Dataset LoadDigits(string? dataDir)
    {
        const int featureCount = 64, rows = 1797;
        var lines = ReadAllLines("digits.csv.gz", dataDir, out string source);
        if (lines.Count != rows)
            throw new InvalidDataException($"{source}: expected {rows} lines of 64 pixels and a label, found {lines.Count} (truncated or wrong file).");
        var (features, labels) = ParseNumericRows(lines, 0, featureCount, 10, source);
        var names = new string[featureCount];
        for (int i = 0; i < featureCount; i++) names[i] = $"pixel_{i / 8}_{i % 8}";
        return new Dataset("digits", DatasetTask.Classification, features, featureCount, labels, null, DigitClassNames, names);
    }

    private static Dataset LoadDiabetes(string? dataDir)
    {
        const int featureCount = 10, rows = 442;
        var dataLines = ReadAllLines("diabetes_data_raw.csv.gz", dataDir, out string dataSource);
        var targetLines = ReadAllLines("diabetes_target.csv.gz", dataDir, out string targetSource);
        if (dataLines.Count != rows)
            throw new InvalidDataException($"{dataSource}: expected {rows} lines of {featureCount} features, found {dataLines.Count} (truncated or wrong file).");
        if (targetLines.Count != rows)
            throw new InvalidDataException($"{targetSource}: expected {rows} target lines, found {targetLines.Count} (truncated or wrong file).");

        var features = new float[rows * featureCount];
        var targets = new float[rows];
        var problems = new List<LineProblem>();
        for (int r = 0; r < rows; r++)
        {
            var fields = TextRows.Split(dataLines[r], ' ', out _)!;
            if (fields.Count != featureCount)
            {
                problems.Add(new LineProblem(r + 1, $"expected {featureCount} space-separated values, found {fields.Count}"));
                continue;
            }
            for (int c = 0; c < featureCount; c++)
            {
                if (!TextRows.TryParseFinite(fields[c], out features[r * featureCount + c]))
                {
                    problems.Add(new LineProblem(r + 1, TextRows.NotANumber(DiabetesFeatures[c], fields[c])));
                    break;
                }
            }
        }
        if (problems.Count > 0) throw new DataFormatException(dataSource, problems);
        for (int r = 0; r < rows; r++)
            if (!TextRows.TryParseFinite(targetLines[r].Trim(), out targets[r]))
                problems.Add(new LineProblem(r + 1, TextRows.NotANumber("target", targetLines[r].Trim())));
        if (problems.Count > 0) throw new DataFormatException(targetSource, problems);
        return new Dataset("diabetes", DatasetTask.Regression, features, featureCount, null, targets, null, DiabetesFeatures);
    }

    /// <summary>Parses comma-separated rows of <paramref name="featureCount"/> numbers followed by an integer label in [0, classes).</summary>
    private static (float[] Features, int[] Labels) ParseNumericRows(List<string> lines, int first, int featureCount, int classes, string source)
    {
        int rows = lines.Count - first;
        var features = new float[rows * featureCount];
        var labels = new int[rows];
        var problems = new List<LineProblem>();
        for (int r = 0; r < rows; r++)
        {
            int lineNo = first + r + 1;
            var fields = TextRows.Split(lines[first + r], ',', out string? err);
            if (fields is null) { problems.Add(new LineProblem(lineNo, err!)); continue; }
            if (fields.Count != featureCount + 1)
            {
                problems.Add(new LineProblem(lineNo, $"expected {featureCount + 1} columns ({featureCount} features and a label), found {fields.Count}"));
                continue;
            }
            string? problem = null;
            for (int c = 0; c < featureCount && problem is null; c++)
                if (!TextRows.TryParseFinite(fields[c], out features[r * featureCount + c]))
                    problem = TextRows.NotANumber($"feature {c}", fields[c]);
            if (problem is null)
            {
                string text = fields[featureCount];
                if (!double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out double d) || d != Math.Floor(d))
                    problem = $"label {TextRows.Show(text)} is not an integer";
                else if (d < 0 || d >= classes)
                    problem = $"label {TextRows.Show(text)} is outside [0, {classes})";
                else
                    labels[r] = (int)d;
            }
            if (problem is not null) problems.Add(new LineProblem(lineNo, problem));
        }
        if (problems.Count > 0) throw new DataFormatException(source, problems);
        return (features, labels);
    }

    private static string[] BuildBreastCancerFeatures()
    {
        string[] measures =
        [
            "radius", "texture", "perimeter", "area", "smoothness", "compactness", "concavity", "concave points",
            "symmetry", "fractal dimension",
        ];
        var names = new List<string>();
        names.AddRange(measures.Select(m => "mean " + m));
        names.AddRange(measures.Select(m => m + " error"));
        names.AddRange(measures.Select(m => "worst " + m));
        return names.ToArray();
    }

    // ---------------------------------------------------------------- IDX sets

    private static Dataset LoadIdxSet(string name, string dir, string[] classNames, string howToGet)
    {
        var trainImages = ReadIdx(dir, "train-images-idx3-ubyte", IdxArray.ImagesMagic, name, howToGet, out string trainImagesPath);
        var trainLabels = ReadIdx(dir, "train-labels-idx1-ubyte", IdxArray.LabelsMagic, name, howToGet, out string trainLabelsPath);
        var testImages = ReadIdx(dir, "t10k-images-idx3-ubyte", IdxArray.ImagesMagic, name, howToGet, out string testImagesPath);
        var testLabels = ReadIdx(dir, "t10k-labels-idx1-ubyte", IdxArray.LabelsMagic, name, howToGet, out string testLabelsPath);

        if (testImages.Dimensions[1] != trainImages.Dimensions[1] || testImages.Dimensions[2] != trainImages.Dimensions[2])
            throw new InvalidDataException(
                $"{testImagesPath}: images are {testImages.Dimensions[1]}×{testImages.Dimensions[2]} but the training images in {trainImagesPath} are {trainImages.Dimensions[1]}×{trainImages.Dimensions[2]}.");

        var test = ToDataset($"{name}/test", trainImages.Dimensions[1], trainImages.Dimensions[2], testImages, testImagesPath, testLabels, testLabelsPath, classNames, null);
        return ToDataset(name, trainImages.Dimensions[1], trainImages.Dimensions[2], trainImages, trainImagesPath, trainLabels, trainLabelsPath, classNames, test);
    }

    private static IdxArray ReadIdx(string dir, string baseName, int magic, string setName, string howToGet, out string path)
    {
        string gz = Path.Combine(dir, baseName + ".gz");
        string plain = Path.Combine(dir, baseName);
        path = File.Exists(gz) || !File.Exists(plain) ? gz : plain;
        if (!File.Exists(path))
            throw new FileNotFoundException($"{setName}: data file not found: {gz} ({howToGet}).", gz);
        return magic == IdxArray.ImagesMagic ? IdxReader.ReadImages(path) : IdxReader.ReadLabels(path);
    }

    private static Dataset ToDataset(string name, int height, int width, IdxArray images, string imagesPath,
        IdxArray labels, string labelsPath, string[] classNames, Dataset? providedTest)
    {
        if (images.Count != labels.Count)
            throw new InvalidDataException(
                $"{labelsPath}: holds {labels.Count} labels but {imagesPath} holds {images.Count} images; the counts must match.");
        var y = new int[labels.Count];
        for (int i = 0; i < y.Length; i++)
        {
            y[i] = labels.Data[i];
            if (y[i] >= classNames.Length)
                throw new InvalidDataException(
                    $"{labelsPath}: label {y[i]} at index {i} is outside [0, {classNames.Length}).");
        }
        int featureCount = height * width;
        if (featureCount == 0)
            throw new InvalidDataException($"{imagesPath}: images are {height}×{width}: no pixels.");
        var x = new float[images.Data.Length];
        for (int i = 0; i < x.Length; i++) x[i] = images.Data[i];
        var names = new string[featureCount];
        for (int i = 0; i < featureCount; i++) names[i] = $"pixel_{i / width}_{i % width}";
        return new Dataset(name, DatasetTask.Classification, x, featureCount, y, null, classNames, names, providedTest);
    }
}
