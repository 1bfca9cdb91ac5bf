package log

import "testing"

// The vectors are Kafka's own (clients UtilsTest.testMurmur2); the
// positive forms are Utils.toPositive of them, as the Java client's
// default partitioner uses them.
var kafkaMurmur2 = []struct {
	in       []byte
	want     int32
	positive uint32
}{
	{[]byte("21"), -973932308, 1173551340},
	{[]byte("foobar"), -790332482, 1357151166},
	{[]byte{12, 42, 56, 24, 109, 111}, 274204207, 274204207},
	{[]byte("a-little-bit-long-string"), -985981536, 1161502112},
	{[]byte("a-little-bit-longer-string"), -1486304829, 661178819},
	{[]byte("lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8"), -58897971, 2088585677},
	{[]byte("abc"), 479470107, 479470107},
}

func TestMurmur2MatchesKafka(t *testing.T) {
	for _, c := range kafkaMurmur2 {
		if got := Murmur2(c.in); got != c.want {
			t.Errorf("Murmur2(%q) = %d, want %d", c.in, got, c.want)
		}
		for _, n := range []int{1, 3, 4, 7, 12} {
			if got, want := KeyPartition(c.in, n), int32(c.positive%uint32(n)); got != want {
				t.Errorf("KeyPartition(%q, %d) = %d, want %d", c.in, n, got, want)
			}
		}
	}
}
