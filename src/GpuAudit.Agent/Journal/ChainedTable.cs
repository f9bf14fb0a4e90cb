namespace GpuAudit.Agent.Journal;

/// <summary>How a chained column is stored, bound and hashed (the same way by the writer and by <c>verify</c>).</summary>
internal enum ColumnType : byte
{
    Integer = 1,
    Real = 2,
    Text = 3,
}

/// <summary>
/// A table whose rows are links of the journal's hash chain: <c>seq</c> (the rowid: the row's
/// place in the one chain of the journal) and <c>prev</c> (the hash of the row before it), then
/// <see cref="Columns"/> in this order. The writer binds and hashes, and <c>verify</c> reads and
/// hashes, from this one description, so the two cannot drift apart.
/// </summary>
internal sealed record ChainedTable(string Name, IReadOnlyList<(string Name, ColumnType Type)> Columns)
{
    public string CreateSql =>
        $"{Name} (seq INTEGER PRIMARY KEY, prev BLOB NOT NULL, {string.Join(", ", Columns.Select(c => c.Name + " " + SqlType(c.Type)))})";

    /// <summary>seq is parameter 1, prev 2, column i is i + 3.</summary>
    public string InsertSql =>
        $"INSERT INTO {Name} (seq, prev, {ColumnList}) VALUES (?1, ?2, {string.Join(", ", Columns.Select((_, i) => "?" + (i + 3)))})";

    /// <summary>seq, prev and the columns of every row after <c>$after</c>, in chain order.</summary>
    public string SelectSql => $"SELECT seq, prev, {ColumnList} FROM {Name} WHERE seq > $after ORDER BY seq";

    public string ColumnList => string.Join(", ", Columns.Select(c => c.Name));

    private static string SqlType(ColumnType type) => type switch
    {
        ColumnType.Integer => "INTEGER",
        ColumnType.Real => "REAL",
        _ => "TEXT",
    };
}
