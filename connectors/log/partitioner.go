package log

import "encoding/binary"

// Murmur2 is the 32-bit MurmurHash2 exactly as Kafka's Java client
// computes it (org.apache.kafka.common.utils.Utils.murmur2), so that a
// key lands on the partition any Kafka producer would choose for it.
func Murmur2(data []byte) int32 {
	const (
		seed = 0x9747b28c
		m    = 0x5bd1e995
		r    = 24
	)
	h := uint32(seed) ^ uint32(len(data))
	n := len(data) &^ 3
	for i := 0; i < n; i += 4 {
		k := binary.LittleEndian.Uint32(data[i:])
		k *= m
		k ^= k >> r
		k *= m
		h *= m
		h ^= k
	}
	switch tail := data[n:]; len(tail) {
	case 3:
		h ^= uint32(tail[2]) << 16
		fallthrough
	case 2:
		h ^= uint32(tail[1]) << 8
		fallthrough
	case 1:
		h ^= uint32(tail[0])
		h *= m
	}
	h ^= h >> 13
	h *= m
	h ^= h >> 15
	return int32(h)
}

// KeyPartition is the partition Kafka's default partitioner gives a
// record with a (non-null) key: the murmur2 hash made positive by clearing
// its sign bit (Utils.toPositive), modulo the partition count.
func KeyPartition(key []byte, partitions int) int32 {
	return int32((uint32(Murmur2(key)) & 0x7fffffff) % uint32(partitions))
}
