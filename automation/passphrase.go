package automation

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// ensurePassphraseFile returns the absolute path of a passphrase file, creating it
// with 32 random bytes when it is missing. O_EXCL keeps two concurrent first runs
// from overwriting each other's passphrase.
func ensurePassphraseFile(path string) (string, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return "", fmt.Errorf("passphrase file: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(abs), 0o700); err != nil {
		return "", fmt.Errorf("passphrase file: %w", err)
	}
	f, err := os.OpenFile(abs, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return abs, nil
	}
	if err != nil {
		return "", fmt.Errorf("passphrase file: %w", err)
	}
	key := make([]byte, 32)
	_, _ = rand.Read(key) // never returns an error since Go 1.24
	if _, err := f.WriteString(base64.RawStdEncoding.EncodeToString(key)); err != nil {
		f.Close()
		return "", fmt.Errorf("passphrase file: %w", err)
	}
	if err := f.Close(); err != nil {
		return "", fmt.Errorf("passphrase file: %w", err)
	}
	return abs, nil
}
