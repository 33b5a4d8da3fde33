package util

import (
	"strconv"
	"strings"
	"sync"
)

// SlotCount is the number of hash slots of Redis Cluster.
const SlotCount = 16384

// crc16 is CRC-16/XMODEM (polynomial 0x1021, init 0), the checksum Redis Cluster uses.
func crc16(b string) uint16 {
	var crc uint16
	for i := 0; i < len(b); i++ {
		crc ^= uint16(b[i]) << 8
		for j := 0; j < 8; j++ {
			if crc&0x8000 != 0 {
				crc = crc<<1 ^ 0x1021
			} else {
				crc <<= 1
			}
		}
	}
	return crc
}

// KeySlot is the Redis Cluster hash slot of key: CRC16 of the hash tag (the bytes between the
// first '{' and the next '}', when non-empty) or of the whole key, modulo 16384.
func KeySlot(key string) int {
	if s := strings.IndexByte(key, '{'); s >= 0 {
		if e := strings.IndexByte(key[s+1:], '}'); e > 0 {
			key = key[s+1 : s+1+e]
		}
	}
	return int(crc16(key) % SlotCount)
}

var (
	slotTagsOnce sync.Once
	slotTags     [SlotCount]string
)

// SlotTag returns a short string whose slot is slot; "{" + SlotTag(s) + "}anything" hashes to s.
func SlotTag(slot int) string {
	slotTagsOnce.Do(func() {
		left := SlotCount
		for i := 0; left > 0; i++ {
			tag := strconv.Itoa(i)
			if s := KeySlot(tag); slotTags[s] == "" {
				slotTags[s] = tag
				left--
			}
		}
	})
	return slotTags[slot]
}

// KeyInSlot returns a key named after name that hashes to slot (by a hash tag).
func KeyInSlot(slot int, name string) string {
	return "{" + SlotTag(slot) + "}" + name
}

// RegionOf is the region owning slot when the slot space is split into n contiguous regions:
// region i owns slots [i*16384/n, (i+1)*16384/n).
func RegionOf(slot, n int) int {
	for i := 0; i < n; i++ {
		if slot < (i+1)*SlotCount/n {
			return i
		}
	}
	return n - 1
}

// RegionRange is the first and last slot of region i of n.
func RegionRange(i, n int) (first, last int) {
	return i * SlotCount / n, (i+1)*SlotCount/n - 1
}
