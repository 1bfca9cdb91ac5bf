package types

import (
	"encoding/hex"
	"fmt"
	"strconv"
	"time"

	"github.com/cockroachdb/apd/v3"
)

// Text spells a value (as Vector.Value returns it) of type t the way a
// user reads it: NULL, TRUE/FALSE, numbers as written in SQL, decimals
// with their scale, times in UTC as 'YYYY-MM-DD HH:MM:SS[.fff]' to the
// type's precision, dates as 'YYYY-MM-DD', bytes in hex. The shell, the
// print connector and the tests all use it, so they agree.
func Text(v any, t Type) string {
	switch x := v.(type) {
	case nil:
		return "NULL"
	case bool:
		if x {
			return "TRUE"
		}
		return "FALSE"
	case int64:
		switch t.Kind {
		case KindTimestamp:
			layout := "2006-01-02 15:04:05"
			if p := int(min(t.Precision, MaxTimestampPrecision)); p > 0 {
				layout = "2006-01-02 15:04:05.000000"[:20+p]
			}
			return time.UnixMicro(x).UTC().Format(layout)
		case KindDate:
			return time.Unix(x*86400, 0).UTC().Format("2006-01-02")
		}
		return strconv.FormatInt(x, 10)
	case float64:
		return strconv.FormatFloat(x, 'g', -1, 64)
	case apd.Decimal:
		return x.Text('f')
	case string:
		return x
	case []byte:
		return hex.EncodeToString(x)
	}
	return fmt.Sprint(v)
}
