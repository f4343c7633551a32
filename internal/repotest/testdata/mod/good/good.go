// Package good has its doc comment in one file.
package good
