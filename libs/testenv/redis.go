package testenv

import "strings"

func redisSentinels(list string) []string {
	if list == "none" {
		return nil
	}
	var addrs []string
	for _, a := range strings.Split(list, ",") {
		if a = strings.TrimSpace(a); a != "" {
			addrs = append(addrs, a)
		}
	}
	return addrs
}

// RedisAddrs returns the addresses a Redis test needs to answer: the
// Sentinels, or the plain Redis without them.
func RedisAddrs() []string {
	if len(RedisSentinelAddrs) == 0 {
		return []string{RedisAddr}
	}
	return RedisSentinelAddrs
}
