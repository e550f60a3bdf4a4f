package demo

// The vocabulary the generator draws from. Each role carries its own
// skills, certifications, pay band and work contexts, so a summary reads
// like a recruiter's note and the canonical searches ("forklift driver
// OSHA-30", "electrician with industrial wiring", ...) have true matches.
// No role is anywhere near dentistry: "dental hygienist" is the negative
// control.

type city struct {
	name, state string
	weight      int
}

var cities = []city{
	{"Chicago", "IL", 14}, {"Houston", "TX", 10}, {"Dallas", "TX", 8}, {"Phoenix", "AZ", 7},
	{"Atlanta", "GA", 7}, {"Columbus", "OH", 6}, {"Detroit", "MI", 6}, {"Denver", "CO", 6},
	{"Charlotte", "NC", 6}, {"Seattle", "WA", 6}, {"Indianapolis", "IN", 5}, {"Milwaukee", "WI", 5},
	{"Memphis", "TN", 5}, {"Newark", "NJ", 5}, {"Louisville", "KY", 4},
}

type role struct {
	name     string
	industry string
	weight   int
	skills   []string
	certs    []string
	minRate  float64
	maxRate  float64
	contexts []string
	nights   int // percent of candidates preferring night shift
}

var roles = []role{
	{"Java Developer", "Technology", 8,
		[]string{"Java", "Spring Boot", "SQL", "microservices", "REST APIs", "Kafka", "AWS", "Kubernetes"},
		[]string{"Oracle Certified Professional Java SE", "AWS Certified Developer"},
		48, 98, []string{"enterprise fintech platforms", "e-commerce backends", "insurance claims systems", "logistics software"}, 3},
	{"Data Analyst", "Technology", 5,
		[]string{"SQL", "Python", "Tableau", "Excel", "Power BI", "data cleaning"},
		[]string{"Google Data Analytics Certificate", "Tableau Desktop Specialist"},
		32, 62, []string{"retail reporting teams", "supply chain analytics", "healthcare operations"}, 3},
	{"Forklift Driver", "Logistics", 11,
		[]string{"forklift operation", "reach truck", "pallet jack", "RF scanning", "loading dock", "inventory control"},
		[]string{"OSHA-30", "OSHA-10", "Forklift Certified"},
		16, 26, []string{"high-volume distribution centers", "cold storage warehouses", "3PL fulfillment centers"}, 40},
	{"Warehouse Picker", "Logistics", 12,
		[]string{"order picking", "RF scanner", "packing", "cycle counts", "pallet building", "shipping and receiving"},
		[]string{"OSHA-10", "Forklift Certified"},
		15, 22, []string{"e-commerce fulfillment centers", "grocery distribution", "parcel sortation hubs"}, 45},
	{"Electrician", "Construction", 8,
		[]string{"industrial wiring", "commercial wiring", "conduit bending", "PLC troubleshooting", "motor controls", "blueprint reading"},
		[]string{"Journeyman Electrician License", "OSHA-30", "NFPA 70E"},
		28, 52, []string{"industrial plants", "commercial construction", "data center build-outs"}, 10},
	{"CNC Operator", "Manufacturing", 8,
		[]string{"CNC machining", "first article inspection", "GD&T", "blueprint reading", "Fanuc controls", "calipers and micrometers"},
		[]string{"NIMS Machining Level I", "OSHA-10"},
		20, 38, []string{"precision machining shops", "aerospace parts production", "automotive suppliers"}, 30},
	{"Welder", "Manufacturing", 6,
		[]string{"MIG welding", "TIG welding", "stick welding", "fabrication", "blueprint reading"},
		[]string{"AWS Certified Welder", "OSHA-10"},
		22, 40, []string{"structural steel fabrication", "pipeline projects", "heavy equipment repair"}, 20},
	{"Machinist", "Manufacturing", 4,
		[]string{"manual lathe", "milling", "GD&T", "tool and die", "blueprint reading"},
		[]string{"NIMS Machining Level II"},
		24, 42, []string{"tool rooms", "job shops", "medical device manufacturing"}, 15},
	{"Truck Driver", "Logistics", 7,
		[]string{"CDL-A", "route planning", "DOT compliance", "ELD logs", "flatbed securement"},
		[]string{"CDL Class A", "HazMat Endorsement"},
		24, 38, []string{"regional freight", "dedicated retail routes", "over-the-road carriers"}, 25},
	{"Registered Nurse", "Healthcare", 6,
		[]string{"patient care", "EMR charting", "IV therapy", "telemetry", "medication administration"},
		[]string{"RN License", "BLS", "ACLS"},
		38, 72, []string{"acute care hospitals", "skilled nursing facilities", "outpatient clinics"}, 30},
	{"Customer Service Rep", "Retail", 9,
		[]string{"call center", "CRM", "data entry", "conflict resolution", "order processing"},
		[]string{"HDI Customer Service Representative"},
		15, 24, []string{"retail support centers", "utility billing teams", "insurance call centers"}, 15},
	{"Assembly Technician", "Manufacturing", 8,
		[]string{"electronics assembly", "soldering", "quality inspection", "lean manufacturing", "torque tools"},
		[]string{"IPC-A-610", "OSHA-10"},
		17, 27, []string{"electronics plants", "appliance assembly lines", "EV battery production"}, 30},
	{"Project Manager", "Construction", 4,
		[]string{"scheduling", "budget tracking", "subcontractor coordination", "Procore", "safety planning"},
		[]string{"PMP", "OSHA-30"},
		45, 85, []string{"commercial construction", "plant expansions", "infrastructure projects"}, 2},
}

var firstNames = []string{"James", "Mary", "Robert", "Patricia", "John", "Jennifer", "Michael", "Linda", "David", "Elizabeth",
	"William", "Barbara", "Richard", "Susan", "Joseph", "Jessica", "Thomas", "Sarah", "Carlos", "Karen", "Daniel", "Lisa",
	"Matthew", "Nancy", "Anthony", "Betty", "Mark", "Sandra", "Luis", "Ashley", "Maria", "Jose", "Wei", "Aisha", "Olga",
	"Kenji", "Fatima", "Liam", "Noah", "Emma", "Darnell", "Priya", "Tomasz", "Minh", "Guadalupe", "Andre", "Keisha", "Omar"}

var lastNames = []string{"Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis", "Rodriguez",
	"Martinez", "Hernandez", "Lopez", "Gonzalez", "Wilson", "Anderson", "Thomas", "Taylor", "Moore", "Jackson", "Martin",
	"Lee", "Perez", "Thompson", "White", "Harris", "Nguyen", "Kim", "Patel", "Okafor", "Schmidt", "Rossi", "O'Brien",
	"Kowalski", "Haddad", "Tanaka", "Washington", "Reyes", "Novak", "Singh", "Murphy"}

var secondLanguages = []struct {
	lang   string
	weight int
}{{"Spanish", 20}, {"Polish", 2}, {"Vietnamese", 2}, {"Arabic", 1}, {"Mandarin", 1}}

var availabilities = []struct {
	name   string
	weight int
}{{"Immediate", 35}, {"2 weeks", 30}, {"30 days", 20}, {"On assignment", 15}}

var recruiters = []string{"Alex Rivera", "Jordan Blake", "Sam Chen", "Taylor Brooks", "Morgan Patel", "Casey Nguyen",
	"Riley Johnson", "Jamie Foster"}

var companyPrefix = []string{"Midwest", "Great Lakes", "Summit", "Prairie", "Lone Star", "Pinnacle", "Keystone", "Harbor",
	"Ironwood", "Blue River", "Northstar", "Cardinal", "Granite", "Riverside", "Evergreen", "Copper Ridge"}

var companyNoun = map[string][]string{
	"Technology":    {"Software", "Digital", "Data Systems", "Cloud Services"},
	"Logistics":     {"Logistics", "Distribution", "Freight", "Fulfillment"},
	"Construction":  {"Builders", "Electric", "Construction", "Contracting"},
	"Manufacturing": {"Manufacturing", "Precision", "Fabrication", "Industries"},
	"Healthcare":    {"Health", "Medical Center", "Care Partners", "Clinics"},
	"Retail":        {"Retail Group", "Brands", "Outfitters", "Stores"},
}

var companySuffix = []string{"Inc", "LLC", "Co", "Corp", "Group"}

var industries = []string{"Technology", "Logistics", "Construction", "Manufacturing", "Healthcare", "Retail"}

var callOutcomes = []struct {
	name   string
	weight int
}{{"no_answer", 30}, {"voicemail", 25}, {"spoke", 20}, {"interested", 15}, {"not_interested", 10}}

var emailSubjects = []string{"New opportunity near you", "Following up on your application", "Interview availability",
	"Timesheet reminder", "Assignment details", "Update your skills profile", "Shift change request", "Welcome aboard"}
