using LossKit.Workbench.Data;

namespace LossKit.Workbench.Tests.Data;

public sealed class DatasetCatalogTests : IDisposable
{
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    [Theory]
    [InlineData("digits", DatasetTask.Classification, 1797, 64, 10)]
    [InlineData("breast_cancer", DatasetTask.Binary, 569, 30, 2)]
    [InlineData("wine", DatasetTask.Classification, 178, 13, 3)]
    [InlineData("iris", DatasetTask.Classification, 150, 4, 3)]
    [InlineData("diabetes", DatasetTask.Regression, 442, 10, 0)]
    public void EmbeddedSetsLoadWithTheirShapes(string name, DatasetTask task, int rows, int features, int classes)
    {
        var d = DatasetCatalog.Load(name);
        Assert.Equal(name, d.Name);
        Assert.Equal(task, d.Task);
        Assert.Equal(rows, d.Rows);
        Assert.Equal(features, d.FeatureCount);
        Assert.Equal(rows * features, d.Features.Length);
        Assert.Equal(classes, d.Classes);
        Assert.Equal(features, d.FeatureNames.Length);
        Assert.Null(d.ProvidedTest);
        Assert.All(d.Features, v => Assert.True(float.IsFinite(v)));
        if (classes > 0)
        {
            Assert.NotNull(d.Labels);
            Assert.Null(d.Targets);
            Assert.All(d.ClassCounts(), c => Assert.True(c > 0)); // every class occurs
        }
        else
        {
            Assert.Null(d.Labels);
            Assert.Equal(rows, d.Targets!.Length);
        }
    }

    [Fact]
    public void EmbeddedValuesMatchTheFiles()
    {
        var iris = DatasetCatalog.Load("iris");
        Assert.Equal(new[] { "setosa", "versicolor", "virginica" }, iris.ClassNames);
        Assert.Equal(new[] { 50, 50, 50 }, iris.ClassCounts());
        Assert.Equal(new[] { 5.1f, 3.5f, 1.4f, 0.2f }, iris.Row(0).ToArray());
        Assert.Equal(0, iris.Labels![0]);

        var bc = DatasetCatalog.Load("breast_cancer");
        Assert.Equal(new[] { "malignant", "benign" }, bc.ClassNames);
        Assert.Equal(new[] { 212, 357 }, bc.ClassCounts());
        Assert.Equal(17.99f, bc.Row(0)[0]);
        Assert.Equal("mean radius", bc.FeatureNames[0]);
        Assert.Equal("worst fractal dimension", bc.FeatureNames[29]);

        Assert.Equal(new[] { 59, 71, 48 }, DatasetCatalog.Load("wine").ClassCounts());

        var digits = DatasetCatalog.Load("digits");
        Assert.Equal(0, digits.Labels![0]);
        Assert.Equal(1, digits.Labels[1]);
        Assert.InRange(digits.Features.Max(), 16f, 16f);
        Assert.Equal("pixel_7_7", digits.FeatureNames[63]);

        var diabetes = DatasetCatalog.Load("diabetes");
        Assert.Equal(151f, diabetes.Targets![0]);
        Assert.Equal(new[] { 59f, 2f, 32.1f, 101f, 157f, 93.2f, 38f, 4f, 4.8598f, 87f }, diabetes.Row(0).ToArray());
    }

    [Theory]
    [InlineData("IRIS")]
    [InlineData(" breast-cancer ")]
    [InlineData("Fashion_MNIST")]
    public void NamesAreMatchedLoosely(string name)
    {
        // Only checks the name is recognised: an unknown name would be an ArgumentException.
        var e = Record.Exception(() => DatasetCatalog.Load(name, name.Contains("mnist", StringComparison.OrdinalIgnoreCase) ? _dir.Path : null));
        Assert.IsNotType<ArgumentException>(e);
    }

    [Fact]
    public void UnknownNameListsValidNames()
    {
        var e = Assert.Throws<ArgumentException>(() => DatasetCatalog.Load("cifar"));
        Assert.Equal("name", e.ParamName);
        Assert.Contains("'cifar'", e.Message);
        foreach (string n in DatasetCatalog.Names) Assert.Contains(n, e.Message);
    }

    [Fact]
    public void EmbeddedSetCanBeReadFromADataDir()
    {
        File.WriteAllText(_dir.File("iris.csv"), "2,4,setosa,versicolor,virginica\n1,2,3,4,0\n5,6,7,8,2\n\n");
        var d = DatasetCatalog.Load("iris", _dir.Path);
        Assert.Equal(2, d.Rows);
        Assert.Equal(new[] { 0, 2 }, d.Labels);
    }

    [Fact]
    public void EmbeddedSetFromDataDirReportsBadRows()
    {
        File.WriteAllText(_dir.File("iris.csv"), "3,4,setosa,versicolor,virginica\n1,2,3,4,0\n5,x,7,8,2\n1,2,3,4,7\n");
        var e = Assert.Throws<DataFormatException>(() => DatasetCatalog.Load("iris", _dir.Path));
        Assert.Equal(new[] { 3, 4 }, e.Lines);
        Assert.Contains("line 3: column 'feature 1' value 'x' is not a number", e.Message);
        Assert.Contains("line 4: label '7' is outside [0, 3)", e.Message);
    }

    [Fact]
    public void EmbeddedSetFromDataDirWithWrongRowCountIsReported()
    {
        File.WriteAllText(_dir.File("iris.csv"), "150,4,setosa,versicolor,virginica\n1,2,3,4,0\n");
        var e = Assert.Throws<InvalidDataException>(() => DatasetCatalog.Load("iris", _dir.Path));
        Assert.Contains("declares 150 rows but the file has 1", e.Message);
    }

    [Fact]
    public void MissingFashionMnistNamesFileAndHowToGetIt()
    {
        string missing = _dir.File("nowhere");
        var e = Assert.Throws<FileNotFoundException>(() => DatasetCatalog.Load("fashion-mnist", missing));
        Assert.Contains(Path.Combine(missing, "train-images-idx3-ubyte.gz"), e.Message);
        Assert.Contains("apt-get install -y dataset-fashion-mnist", e.Message);
        Assert.Contains("--data-dir", e.Message);
        Assert.DoesNotContain('\n', e.Message);
    }

    private void WriteMiniMnist(int trainCount = 20, int testCount = 6, int trainLabelCount = -1, byte badLabel = 0, bool gzip = true)
    {
        if (trainLabelCount < 0) trainLabelCount = trainCount;
        string ext = gzip ? ".gz" : "";
        IdxWriter.Write(_dir.File("train-images-idx3-ubyte" + ext), Images(trainCount, 1), gzip);
        IdxWriter.Write(_dir.File("t10k-images-idx3-ubyte" + ext), Images(testCount, 2), gzip);
        var trainLabels = Enumerable.Range(0, trainLabelCount).Select(i => (byte)(i % 10)).ToArray();
        if (badLabel != 0) trainLabels[^1] = badLabel;
        IdxWriter.Write(_dir.File("train-labels-idx1-ubyte" + ext), new IdxArray([trainLabelCount], trainLabels), gzip);
        IdxWriter.Write(_dir.File("t10k-labels-idx1-ubyte" + ext),
            new IdxArray([testCount], Enumerable.Range(0, testCount).Select(i => (byte)((i * 3) % 10)).ToArray()), gzip);

        static IdxArray Images(int n, int salt)
        {
            var data = new byte[n * 3 * 4];
            for (int i = 0; i < data.Length; i++) data[i] = (byte)(i * salt);
            return new IdxArray([n, 3, 4], data);
        }
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void IdxSetLoadsFromADataDir(bool gzip)
    {
        WriteMiniMnist(gzip: gzip);
        var d = DatasetCatalog.Load("mnist", _dir.Path);
        Assert.Equal(20, d.Rows);
        Assert.Equal(12, d.FeatureCount);
        Assert.Equal(10, d.Classes);
        Assert.Equal(Enumerable.Range(0, 20).Select(i => i % 10), d.Labels!);
        Assert.Equal(13f, d.Features[13]); // raw pixel value, not rescaled
        Assert.Equal("pixel_2_3", d.FeatureNames[11]);
        Assert.NotNull(d.ProvidedTest);
        Assert.Equal(6, d.ProvidedTest!.Rows);
        Assert.Equal("mnist/test", d.ProvidedTest.Name);
        Assert.Equal(26f, d.ProvidedTest.Features[13]);
    }

    [Fact]
    public void IdxSetWithMismatchedCountsIsReported()
    {
        WriteMiniMnist(trainLabelCount: 19);
        var e = Assert.Throws<InvalidDataException>(() => DatasetCatalog.Load("fashion-mnist", _dir.Path));
        Assert.Contains("train-labels-idx1-ubyte.gz", e.Message);
        Assert.Contains("19 labels", e.Message);
        Assert.Contains("20 images", e.Message);
    }

    [Fact]
    public void IdxSetWithOutOfRangeLabelIsReported()
    {
        WriteMiniMnist(badLabel: 12);
        var e = Assert.Throws<InvalidDataException>(() => DatasetCatalog.Load("fashion-mnist", _dir.Path));
        Assert.Contains("label 12 at index 19", e.Message);
    }

    [Fact]
    public void IdxSetWithCorruptFileNamesIt()
    {
        WriteMiniMnist();
        File.WriteAllBytes(_dir.File("t10k-labels-idx1-ubyte.gz"), [1, 2, 3, 4, 5, 6, 7, 8]);
        var e = Assert.Throws<InvalidDataException>(() => DatasetCatalog.Load("fashion-mnist", _dir.Path));
        Assert.Contains("t10k-labels-idx1-ubyte.gz", e.Message);
        Assert.Contains("bad magic number", e.Message);
    }

    [FashionMnistFact]
    public void FashionMnistLoadsFromTheInstalledPackage()
    {
        var d = DatasetCatalog.Load("fashion-mnist");
        Assert.Equal(DatasetTask.Classification, d.Task);
        Assert.Equal(60000, d.Rows);
        Assert.Equal(784, d.FeatureCount);
        Assert.Equal(10, d.Classes);
        Assert.Equal("Ankle boot", d.ClassNames[9]);
        Assert.Equal(Enumerable.Repeat(6000, 10), d.ClassCounts());
        Assert.Equal(9, d.Labels![0]);
        Assert.NotNull(d.ProvidedTest);
        Assert.Equal(10000, d.ProvidedTest!.Rows);
        Assert.Equal(Enumerable.Repeat(1000, 10), d.ProvidedTest.ClassCounts());
        Assert.InRange(d.Features.Max(), 255f, 255f);

        var splits = DatasetSplitter.Split(d, seed: 1);
        Assert.True(splits.UsesProvidedTest);
        Assert.Same(d.ProvidedTest, splits.Test);
        Assert.Equal(45000, splits.Train.Rows);
        Assert.Equal(15000, splits.Validation.Rows);
    }
}
