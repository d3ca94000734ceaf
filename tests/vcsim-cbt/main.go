// Command vcsim-cbt is the vSphere peer of cbtrack's tests: govmomi's
// simulator (vcsim) with its VPX model, plus what cbtrack needs and vcsim
// lacks: changeIds on disk backings, a new changeId per disk at every
// CreateSnapshot_Task, and QueryChangedDiskAreas (see intercept for why
// these sit in front of vcsim's /sdk handler rather than in a wrapped
// VirtualMachine as simulator/example_extend_test.go shows).
//
// QueryChangedDiskAreas answers from files the test writes into -areas DIR:
// DIR/KEY-all.json for changeId "*" (the allocated areas) and DIR/KEY-SEQ.json
// for the changeId whose sequence number (after the '/') is SEQ (the areas
// changed since that changeId was issued).  Each file is a JSON array of
// {"start":N,"length":N}.  An unknown changeId, or one without a file, is a
// FileFault, as on a real server after a CBT reset.
//
// It also models what real servers do: at most -page-areas areas per answer
// (2000 by default), an optional window of -page-bytes per answer (so a page
// may be empty while later ones are not), sessions that expire after
// -expire-after QueryChangedDiskAreas calls, and a slow answer (-slow).
//
// It prints "listening on URL (port N)" and "thumbprint SHA256" on stderr
// and runs until SIGTERM or SIGINT.
package main

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"encoding/xml"
	"flag"
	"fmt"
	"io/ioutil"
	"log"
	"math/big"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/vmware/govmomi/simulator"
	"github.com/vmware/govmomi/vim25/methods"
	"github.com/vmware/govmomi/vim25/soap"
	"github.com/vmware/govmomi/vim25/types"
)

var (
	listen      = flag.String("listen", "127.0.0.1:0", "address to listen on")
	user        = flag.String("user", "user", "user name accepted by Login")
	password    = flag.String("password", "pass", "password accepted by Login")
	vmName      = flag.String("vm", "DC0_H0_VM0", "the VM whose disks are set by -disks")
	disks       = flag.String("disks", "1048576", "comma-separated capacities in bytes of the VM's disks (keys 2000, 2001, ...)")
	areasDir    = flag.String("areas", ".", "directory of changed-area files KEY-all.json and KEY-SEQ.json")
	pageAreas   = flag.Int("page-areas", 2000, "at most this many areas per QueryChangedDiskAreas answer")
	pageBytes   = flag.Int64("page-bytes", 0, "if > 0, an answer covers at most this many bytes of the disk")
	expireAfter = flag.Int("expire-after", 0, "if > 0, the session expires at every Nth QueryChangedDiskAreas call")
	slow        = flag.Duration("slow", 0, "delay before every QueryChangedDiskAreas answer")
	logCalls    = flag.String("log", "", "append one line per QueryChangedDiskAreas and snapshot call to this file")
	certOut     = flag.String("cert-out", "", "write the server's certificate (PEM, its own CA) to this file")
)

var (
	mu       sync.Mutex
	seq      = map[int32]int{}
	calls    int
	expired  = map[string]bool{}
	cache    = map[string]cached{}
	logMutex sync.Mutex
)

// changeIDPrefix is the part of a disk's changeId that names the disk; the
// part after the '/' is the sequence number, as in vSphere.
func changeIDPrefix(key int32) string {
	return fmt.Sprintf("52 63 62 74 00 00 %02x %02x-00 00 00 00 00 00 00 00", (key>>8)&0xff, key&0xff)
}

func logLine(format string, args ...interface{}) {
	if *logCalls == "" {
		return
	}
	logMutex.Lock()
	defer logMutex.Unlock()
	f, err := os.OpenFile(*logCalls, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0644)
	if err != nil {
		log.Print(err)
		return
	}
	fmt.Fprintf(f, format+"\n", args...)
	f.Close()
}

// bumpChangeIds gives every disk of VM a fresh copy with a new changeId,
// so that a snapshot taken now keeps the changeId it was taken with.
func bumpChangeIds(vm *simulator.VirtualMachine) {
	mu.Lock()
	defer mu.Unlock()
	devs := vm.Config.Hardware.Device
	out := make([]types.BaseVirtualDevice, len(devs))
	for i, d := range devs {
		disk, ok := d.(*types.VirtualDisk)
		if !ok {
			out[i] = d
			continue
		}
		b := *disk.Backing.(*types.VirtualDiskFlatVer2BackingInfo)
		seq[disk.Key]++
		b.ChangeId = fmt.Sprintf("%s/%d", changeIDPrefix(disk.Key), seq[disk.Key])
		nd := *disk
		nd.Backing = &b
		out[i] = &nd
	}
	vm.Config.Hardware.Device = out
}

func findDisk(vm *simulator.VirtualMachine, snap *types.ManagedObjectReference, key int32) *types.VirtualDisk {
	devs := vm.Config.Hardware.Device
	if snap != nil {
		s, ok := simulator.Map.Get(*snap).(*simulator.VirtualMachineSnapshot)
		if !ok {
			return nil
		}
		devs = s.Config.Hardware.Device
	}
	for _, d := range devs {
		if disk, ok := d.(*types.VirtualDisk); ok && disk.Key == key {
			return disk
		}
	}
	return nil
}

type area struct {
	Start  int64 `json:"start"`
	Length int64 `json:"length"`
}

func loadAreas(key int32, changeID string) ([]area, bool) {
	var name string
	if changeID == "*" {
		name = fmt.Sprintf("%d-all.json", key)
	} else {
		slash := strings.LastIndex(changeID, "/")
		if slash < 0 || changeID[:slash] != changeIDPrefix(key) {
			return nil, false
		}
		n, err := strconv.Atoi(changeID[slash+1:])
		if err != nil {
			return nil, false
		}
		name = fmt.Sprintf("%d-%d.json", key, n)
	}
	path := filepath.Join(*areasDir, name)
	st, err := os.Stat(path)
	if err != nil {
		return nil, false
	}
	// A file is parsed once per version: a paged query of a million
	// areas reads the same file hundreds of times.
	mu.Lock()
	c, ok := cache[path]
	mu.Unlock()
	if ok && c.mtime.Equal(st.ModTime()) && c.size == st.Size() {
		return c.areas, true
	}
	data, err := ioutil.ReadFile(path)
	if err != nil {
		return nil, false
	}
	var areas []area
	if err := json.Unmarshal(data, &areas); err != nil {
		log.Printf("%s: %v", name, err)
		return nil, false
	}
	sort.Slice(areas, func(i, j int) bool { return areas[i].Start < areas[j].Start })
	mu.Lock()
	cache[path] = cached{st.ModTime(), st.Size(), areas}
	mu.Unlock()
	return areas, true
}

type cached struct {
	mtime time.Time
	size  int64
	areas []area
}

const (
	nsEnv = "http://schemas.xmlsoap.org/soap/envelope/"
	nsXSI = "http://www.w3.org/2001/XMLSchema-instance"
	nsXSD = "http://www.w3.org/2001/XMLSchema"
)

// writeFault answers with the SOAP fault TYPE and MESSAGE, as vCenter does.
func writeFault(w http.ResponseWriter, faultType, message string) {
	var msg bytes.Buffer
	_ = xml.EscapeText(&msg, []byte(message))
	w.Header().Set("Content-Type", "text/xml; charset=utf-8")
	w.WriteHeader(http.StatusInternalServerError)
	fmt.Fprintf(w, `%s<soapenv:Envelope xmlns:soapenv="%s" xmlns:xsd="%s" xmlns:xsi="%s"><soapenv:Body>`+
		`<soapenv:Fault><faultcode>ServerFaultCode</faultcode><faultstring>%s</faultstring>`+
		`<detail><%sFault xmlns="urn:vim25" xsi:type="%s"></%sFault></detail></soapenv:Fault>`+
		`</soapenv:Body></soapenv:Envelope>`,
		xml.Header, nsEnv, nsXSD, nsXSI, msg.String(), faultType, faultType, faultType)
}

// queryChangedDiskAreas answers one QueryChangedDiskAreas call.
func queryChangedDiskAreas(w http.ResponseWriter, req *types.QueryChangedDiskAreas) {
	if *slow > 0 {
		time.Sleep(*slow)
	}
	vm, ok := simulator.Map.Get(req.This).(*simulator.VirtualMachine)
	if !ok {
		writeFault(w, "ManagedObjectNotFound", "The object has already been deleted or has not been completely created")
		return
	}
	disk := findDisk(vm, req.Snapshot, req.DeviceKey)
	if disk == nil {
		writeFault(w, "InvalidArgument", "A specified parameter was not correct: deviceKey")
		return
	}
	capacity := disk.CapacityInBytes
	if req.StartOffset < 0 || req.StartOffset >= capacity {
		writeFault(w, "InvalidArgument", "A specified parameter was not correct: startOffset")
		return
	}
	file := disk.Backing.(*types.VirtualDiskFlatVer2BackingInfo).FileName
	areas, ok := loadAreas(req.DeviceKey, req.ChangeId)
	if !ok {
		logLine("QueryChangedDiskAreas key=%d changeId=%s FileFault", req.DeviceKey, req.ChangeId)
		writeFault(w, "FileFault", "Error caused by file "+file)
		return
	}

	end := capacity
	if *pageBytes > 0 && req.StartOffset+*pageBytes < end {
		end = req.StartOffset + *pageBytes
	}
	var page []area
	first := sort.Search(len(areas), func(i int) bool { return areas[i].Start+areas[i].Length > req.StartOffset })
	for _, a := range areas[first:] {
		if a.Start >= end {
			break
		}
		s, e := a.Start, a.Start+a.Length
		if s < req.StartOffset {
			s = req.StartOffset
		}
		if e > end {
			e = end
		}
		if s >= e {
			continue
		}
		if len(page) == *pageAreas {
			end = page[len(page)-1].Start + page[len(page)-1].Length
			break
		}
		page = append(page, area{s, e - s})
	}
	logLine("QueryChangedDiskAreas key=%d changeId=%s start=%d areas=%d length=%d",
		req.DeviceKey, req.ChangeId, req.StartOffset, len(page), end-req.StartOffset)

	var out bytes.Buffer
	fmt.Fprintf(&out, `%s<soapenv:Envelope xmlns:soapenv="%s" xmlns:xsd="%s" xmlns:xsi="%s"><soapenv:Body>`+
		`<QueryChangedDiskAreasResponse xmlns="urn:vim25"><returnval><startOffset>%d</startOffset><length>%d</length>`,
		xml.Header, nsEnv, nsXSD, nsXSI, req.StartOffset, end-req.StartOffset)
	for _, a := range page {
		fmt.Fprintf(&out, "<changedArea><start>%d</start><length>%d</length></changedArea>", a.Start, a.Length)
	}
	out.WriteString("</returnval></QueryChangedDiskAreasResponse></soapenv:Body></soapenv:Envelope>")
	w.Header().Set("Content-Type", "text/xml; charset=utf-8")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(out.Bytes())
}

// intercept answers what vcsim lacks and passes everything else on.
//
// vcsim's own objects cannot be wrapped as example_extend_test.go shows
// and still be used by vcsim itself: it asserts their concrete types
// (Map.Get(ref).(*VirtualMachine)) and its property collector wants the
// mo type in a struct's first field.  So the methods are added in front
// of its /sdk handler instead, with its exported UnmarshalBody.
func intercept(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || r.URL.Path != "/sdk" {
			next.ServeHTTP(w, r)
			return
		}
		body, err := ioutil.ReadAll(r.Body)
		if err != nil {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		r.Body = ioutil.NopCloser(bytes.NewReader(body))
		method, err := simulator.UnmarshalBody(types.TypeFunc(), body)
		if err != nil {
			next.ServeHTTP(w, r)
			return
		}

		cookie := ""
		if c, err := r.Cookie(soap.SessionCookieName); err == nil {
			cookie = c.Value
		}
		mu.Lock()
		dead := cookie != "" && expired[cookie]
		mu.Unlock()
		if dead {
			if method.Name != "Login" {
				writeFault(w, "NotAuthenticated", "The session is not authenticated.")
				return
			}
			// vcsim would refuse a Login on a session it still knows.
			r.Header.Del("Cookie")
		}

		switch method.Name {
		case "CreateSnapshot_Task":
			if vm, ok := simulator.Map.Get(method.This).(*simulator.VirtualMachine); ok {
				bumpChangeIds(vm)
				logLine("CreateSnapshot %s", vm.Name)
			}
		case "RemoveSnapshot_Task":
			logLine("RemoveSnapshot %s", method.This.Value)
		case "QueryChangedDiskAreas":
			sm := simulator.Map.SessionManager()
			active := sm.SessionIsActive(&simulator.Context{Map: simulator.Map, Context: context.Background()},
				&types.SessionIsActive{SessionID: cookie, UserName: *user})
			if cookie == "" || !active.(*methods.SessionIsActiveBody).Res.Returnval {
				writeFault(w, "NotAuthenticated", "The session is not authenticated.")
				return
			}
			mu.Lock()
			calls++
			n := calls
			if *expireAfter > 0 && n%*expireAfter == 0 {
				expired[cookie] = true
			}
			dead = expired[cookie]
			mu.Unlock()
			if dead {
				logLine("QueryChangedDiskAreas session expired")
				writeFault(w, "NotAuthenticated", "The session is not authenticated.")
				return
			}
			queryChangedDiskAreas(w, method.Body.(*types.QueryChangedDiskAreas))
			return
		}
		next.ServeHTTP(w, r)
	})
}

// makeCertificate makes a self-signed ECDSA P-256 certificate for
// 127.0.0.1 and localhost, valid for a day, that is its own CA (so a test
// can trust it with a CA file), and writes it to -cert-out.  vcsim's
// built-in certificate has a key that OpenSSL's default security level
// refuses.
func makeCertificate() (tls.Certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(time.Now().UnixNano()),
		Subject:               pkix.Name{CommonName: "vcsim-cbt"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IPAddresses:           []net.IP{net.ParseIP("127.0.0.1")},
		DNSNames:              []string{"localhost"},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return tls.Certificate{}, err
	}
	if *certOut != "" {
		block := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
		if err := ioutil.WriteFile(*certOut, block, 0644); err != nil {
			return tls.Certificate{}, err
		}
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, nil
}

// setDisks gives the VM one disk per capacity, keys 2000, 2001, ...,
// thin-provisioned, CBT on, with a first changeId.
func setDisks(vm *simulator.VirtualMachine, sizes []int64) {
	var template *types.VirtualDisk
	var out []types.BaseVirtualDevice
	for _, d := range vm.Config.Hardware.Device {
		if disk, ok := d.(*types.VirtualDisk); ok {
			if template == nil {
				template = disk
			}
			continue
		}
		out = append(out, d)
	}
	if template == nil {
		log.Fatal("the VM has no disk to start from")
	}
	tb := template.Backing.(*types.VirtualDiskFlatVer2BackingInfo)
	dir := filepath.Dir(strings.SplitN(tb.FileName, " ", 2)[1])
	for i, size := range sizes {
		key := int32(2000 + i)
		b := *tb
		if i == 0 {
			b.FileName = fmt.Sprintf("[LocalDS_0] %s/%s.vmdk", dir, vm.Name)
		} else {
			b.FileName = fmt.Sprintf("[LocalDS_0] %s/%s_%d.vmdk", dir, vm.Name, i)
		}
		b.Uuid = fmt.Sprintf("6000C29%d-0000-0000-0000-00000000%04d", i, key)
		seq[key] = 1
		b.ChangeId = fmt.Sprintf("%s/%d", changeIDPrefix(key), 1)
		d := *template
		d.Key = key
		unit := int32(i)
		if unit >= 7 {
			unit++
		}
		d.UnitNumber = &unit
		d.CapacityInBytes = size
		d.CapacityInKB = size / 1024
		d.DeviceInfo = &types.Description{Label: fmt.Sprintf("Hard disk %d", i+1), Summary: fmt.Sprintf("%d KB", size/1024)}
		d.Backing = &b
		out = append(out, &d)
	}
	vm.Config.Hardware.Device = out
	vm.Config.ChangeTrackingEnabled = types.NewBool(true)
}

func main() {
	flag.Parse()
	log.SetPrefix("vcsim-cbt: ")
	log.SetFlags(0)

	var sizes []int64
	for _, s := range strings.Split(*disks, ",") {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil || n <= 0 || n%1024 != 0 {
			log.Fatalf("-disks: %q is not a positive multiple of 1024", s)
		}
		sizes = append(sizes, n)
	}

	model := simulator.VPX()
	defer model.Remove()
	if err := model.Create(); err != nil {
		log.Fatal(err)
	}
	cert, err := makeCertificate()
	if err != nil {
		log.Fatal(err)
	}
	model.Service.TLS = &tls.Config{Certificates: []tls.Certificate{cert}}
	model.Service.Listen = &url.URL{Host: *listen, User: url.UserPassword(*user, *password)}

	found := false
	for _, obj := range simulator.Map.All("VirtualMachine") {
		vm := obj.(*simulator.VirtualMachine)
		if vm.Name == *vmName {
			setDisks(vm, sizes)
			found = true
		}
	}
	if !found {
		log.Fatalf("no VM named %s", *vmName)
	}

	s := model.Service.NewServer()
	defer s.Close()
	s.Config.Handler = intercept(s.Config.Handler)

	u := *s.URL
	u.User = nil
	sum := sha256.Sum256(s.Certificate().Raw)
	hexes := make([]string, len(sum))
	for i, b := range sum {
		hexes[i] = fmt.Sprintf("%02X", b)
	}
	fmt.Fprintf(os.Stderr, "thumbprint %s\n", strings.Join(hexes, ":"))
	fmt.Fprintf(os.Stderr, "listening on %s (port %s)\n", u.String(), u.Port())

	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
	<-sig
}
