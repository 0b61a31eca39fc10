"""Name data for the synthetic population: weighted given names and surnames, nicknames and variants.

Frequencies are *approximate relative weights*, not counts: the given-name weights blend the ONS baby
name tables for England and Wales over the years the children were born (about 2008–2026) and the surname
weights follow the familiar national ranking (Smith, Jones, Williams, …). The lists are split by a
coarse naming tradition (``gb``, ``pk``, ``in``, ``af``, ``ee``) so that a household's surname and its
children's given names usually belong together, as they do in a real city; a share of households cross
traditions (see ``generator``), as real families do.

Data are written as ``"Name weight"`` pairs in long strings to keep this module readable; they are parsed
once at import.
"""

from __future__ import annotations

__all__ = [
    "ADULT_FEMALE",
    "ADULT_MALE",
    "GIRLS",
    "BOYS",
    "SURNAMES",
    "FEMALE_SURNAME_FORMS",
    "GIVEN_NAME_SUFFIXES",
    "NICKNAMES",
    "VARIANTS",
    "TRADITIONS",
]

# Naming traditions. ``gb``: names common across Britain regardless of heritage (including Irish,
# Welsh and Caribbean families); ``pk``: Pakistani, Bangladeshi and other Muslim South Asian;
# ``in``: Indian Sikh and Hindu; ``af``: African; ``ee``: Polish and other Eastern European.
TRADITIONS = ("gb", "pk", "in", "af", "ee")


def _weighted(text: str) -> tuple[tuple[str, int], ...]:
    """Parse ``"Name 12 Other 3"`` into ``(("Name", 12), ("Other", 3))``."""
    tokens = text.split()
    pairs = tuple((tokens[i], int(tokens[i + 1])) for i in range(0, len(tokens) - 1, 2))
    if len(tokens) % 2 or len({name for name, _ in pairs}) != len(pairs):
        raise ValueError("name data must be unique name/weight pairs")
    return pairs


GIRLS: dict[str, tuple[tuple[str, int], ...]] = {
    "gb": _weighted(
        """
        Olivia 50 Amelia 50 Emily 45 Lily 40 Isla 35 Ava 35 Sophie 30 Isabella 30 Evie 30 Ella 30
        Mia 30 Grace 30 Freya 28 Ruby 28 Poppy 28 Sophia 25 Jessica 25 Chloe 25 Charlotte 25 Daisy 22
        Millie 22 Ellie 20 Alice 18 Ivy 18 Evelyn 15 Florence 15 Willow 15 Phoebe 15 Sienna 15 Rosie 15
        Elsie 15 Lucy 15 Molly 14 Eva 14 Matilda 13 Holly 12 Megan 12 Hannah 12 Maya 12 Maisie 12
        Scarlett 12 Harper 10 Katie 10 Lola 10 Imogen 10 Georgia 10 Gracie 10 Erin 9 Lauren 8 Violet 8
        Aurora 8 Esme 8 Eleanor 8 Abigail 8 Amber 8 Leah 8 Amy 8 Layla 8 Isabelle 8 Bonnie 7 Thea 7
        Summer 7 Jasmine 7 Lexi 7 Emma 7 Eliza 6 Harriet 6 Darcie 6 Luna 6 Elizabeth 6 Bethany 6 Paige 6
        Caitlin 6 Abbie 6 Tilly 6 Madison 6 Emilia 6 Aria 6 Mila 6 Amelie 6 Ayla 5 Nancy 5 Mabel 5
        Arabella 5 Rose 5 Niamh 5 Rebecca 5 Anna 5 Bella 5 Margot 4 Orla 4 Iris 4 Elena 4 Edith 4
        Lottie 4 Eden 4 Connie 4 Hollie 4 Heidi 4 Skye 4 Lyla 4 Lacey 4 Zara 4 Penelope 3 Hallie 3
        Catherine 3 Katherine 3 Courtney 3 Jade 3 Beatrice 3 Clara 3 Frankie 3 Nellie 3 Robyn 3 Sara 3
        Victoria 3 Maddison 3 Annabelle 3 Nova 3 Ophelia 2 Francesca 2 Georgina 2 Josephine 2 Natalie 2
        Rosa 2 Pippa 2 Kayla 2 Jorgie 2 Alexandra 2 Eloise 3 Florrie 2 Hermione 1 Primrose 1 Lilly 3
        Lillie 3 Isobel 2 Libby 4 Martha 4 Ada 4 Delilah 3 Ellis 1 Myla 2 Serena 1 Savannah 2 Tia 2
        """
    ),
    "pk": _weighted(
        """
        Maryam 20 Aisha 18 Zainab 16 Fatima 16 Hafsa 10 Khadija 10 Amira 9 Hawa 6 Safa 6 Aminah 7
        Inaaya 8 Ayesha 10 Eshal 7 Hana 6 Sumayyah 5 Ruqayyah 5 Inaya 7 Anaya 6 Noor 6 Aleena 6 Alisha 5
        Hiba 5 Mariam 6 Sana 4 Iqra 5 Laiba 5 Mehreen 2 Amna 4 Zoya 5 Aaliyah 7 Zahra 6 Yusra 4 Haniya 4
        Manahil 3 Minahil 3 Abeeha 3 Hajra 3 Rumaysa 3 Asiya 3
        """
    ),
    "in": _weighted(
        """
        Priya 5 Anaya 4 Aanya 5 Diya 5 Simran 6 Jasleen 5 Harleen 4 Navneet 3 Amrit 3 Riya 6 Saanvi 4
        Ishani 3 Kiran 3 Gurleen 4 Manpreet 3 Anika 4 Meera 3 Tara 3 Jasmeet 3 Avneet 3 Rajveer 1 Isha 4
        Kavya 3 Myra 3 Navya 2 Sukhleen 2
        """
    ),
    "af": _weighted(
        """
        Blessing 6 Precious 5 Favour 5 Testimony 2 Esther 5 Deborah 3 Zion 2 Adaeze 3 Chioma 3 Amara 5
        Nia 4 Ama 3 Efua 2 Ifeoluwa 2 Oluwatosin 2 Temiloluwa 2 Hodan 3 Ifrah 3 Nasra 2 Sagal 2 Fadumo 2
        Tanisha 2 Kemi 2 Ruth 3 Mercy 3 Jemima 2 Naomi 4
        """
    ),
    "ee": _weighted(
        """
        Zofia 6 Zuzanna 6 Julia 7 Maja 6 Lena 6 Hanna 5 Alicja 5 Oliwia 5 Wiktoria 5 Pola 3 Nadia 4
        Natalia 4 Antonina 2 Gabriela 3 Ioana 3 Andreea 2 Daria 3 Emilija 2 Ugnė 1 Marta 3
        """
    ),
}

BOYS: dict[str, tuple[tuple[str, int], ...]] = {
    "gb": _weighted(
        """
        Oliver 60 Jack 55 Harry 55 George 45 Noah 45 Charlie 45 Jacob 40 Alfie 40 William 35 Thomas 35
        Freddie 35 Oscar 35 Leo 35 Arthur 30 Archie 30 Joshua 30 James 30 Henry 25 Ethan 25 Theo 20
        Isaac 20 Max 20 Riley 20 Lucas 18 Logan 18 Daniel 18 Samuel 18 Joseph 18 Mason 18 Theodore 15
        Harrison 15 Dylan 15 Finley 15 Edward 14 Alexander 14 Benjamin 14 Teddy 12 Tyler 12 Lewis 12
        Adam 12 Tommy 10 Jake 10 Callum 10 Luca 10 Sebastian 10 Elijah 10 Bobby 10 Harvey 10 Albie 9
        Rory 8 Reggie 8 Louie 8 Stanley 8 Jenson 8 Zachary 8 Jamie 8 Louis 8 Luke 8 Matthew 8 Jayden 8
        Toby 8 Roman 8 Ronnie 7 Arlo 7 Jude 7 Sonny 7 Hugo 7 Frankie 7 Gabriel 7 Michael 7 Ryan 7
        Connor 7 Kai 7 Ezra 6 Hudson 6 Jaxon 6 David 6 Bailey 6 Felix 6 Cameron 6 Harley 6 Nathan 6
        Owen 6 Liam 6 Billy 6 Ellis 5 Caleb 5 Elliot 5 Alex 5 Kyle 5 Albert 5 Reuben 5 Blake 5 Leon 5
        Jackson 5 Charles 5 Rhys 5 Aaron 5 Oakley 5 Finn 5 Milo 5 Mateo 5 Aiden 5 Nathaniel 4 Jasper 4
        Frederick 4 Rowan 4 Otis 4 Carter 4 Tobias 4 Austin 4 Kian 4 Dexter 4 Jesse 4 Eli 4 Jay 3
        Alfred 3 Ralph 3 Morgan 3 Brody 3 Sean 3 Patrick 3 Robert 3 Christopher 3 Hunter 3 Marcus 3
        Kayden 3 Bentley 3 Grayson 3 Zac 3 Jonah 3 Ted 2 Nicholas 2 Jonathan 2 Tristan 2
        Ollie 3 Rupert 2 Ernest 2 Hector 2 Kieran 3 Declan 2 Brandon 3 Corey 2 Reece 3
        Tyrese 2 Kacey 1 Ashton 2 Spencer 2 Dominic 2 Vincent 1 Ivan 1 Jim 1 Stephen 1 Anthony 2
        """
    ),
    "pk": _weighted(
        """
        Muhammad 60 Mohammed 20 Mohammad 10 Yusuf 18 Ibrahim 16 Musa 12 Hamza 12 Ayaan 12 Zayn 10
        Ali 10 Omar 9 Adam 12 Abdullah 8 Ismail 7 Yahya 7 Harun 5 Zakariya 5 Idris 5 Eesa 6 Ahmed 5
        Bilal 5 Rayyan 6 Haris 4 Hassan 6 Hussain 5 Umar 7 Usman 5 Arham 4 Ayub 3 Zain 6 Saif 3 Zakir 2
        Ilyas 4 Subhan 3 Mikail 5 Ehsan 2 Daniyal 3 Hadi 3 Aariz 3 Rehan 3
        """
    ),
    "in": _weighted(
        """
        Arjun 6 Aarav 5 Krish 5 Dev 4 Rohan 5 Jaskaran 4 Harjot 3 Gurveer 3 Ishaan 5 Veer 4 Arnav 4
        Vihaan 4 Karan 4 Rajveer 3 Manveer 3 Sahib 3 Kabir 4 Aryan 5 Jasraj 2 Reyansh 2 Sukhraj 2 Arun 2
        Nikhil 2 Aditya 3 Amarjit 1 Gurpreet 2
        """
    ),
    "af": _weighted(
        """
        Emmanuel 6 Oluwaseun 3 Tobi 3 Chidi 3 Kwame 3 Kofi 3 Tendai 2 Samuel 5 Daniel 5 David 5 Joshua 4
        Elijah 4 Jayden 3 Ayodele 2 Chukwuemeka 2 Oluwadamilare 2 Abdirahman 3 Abdullahi 3 Mustafa 2
        Kayode 2 Femi 2 Tunde 2 Isaiah 3 Nathaniel 3 Jeremiah 2 Ezekiel 2 Tariq 1
        """
    ),
    "ee": _weighted(
        """
        Jakub 7 Antoni 5 Szymon 5 Jan 5 Filip 6 Kacper 5 Aleksander 5 Franciszek 3 Mikołaj 4 Wojciech 3
        Oskar 4 Igor 3 Andrei 3 Alexandru 3 Mateusz 4 Dawid 3 Tymon 2 Nikodem 2 Lukas 3 Dominik 3
        """
    ),
}

SURNAMES: dict[str, tuple[tuple[str, int], ...]] = {
    "gb": _weighted(
        """
        Smith 550 Jones 420 Williams 300 Taylor 250 Brown 220 Davies 210 Evans 170 Wilson 150 Thomas 150
        Johnson 140 Roberts 140 Robinson 125 Thompson 125 Wright 120 Walker 120 White 115 Edwards 115
        Hughes 110 Green 110 Hall 105 Lewis 100 Harris 100 Clarke 100 Jackson 95 Wood 92 Turner 90
        Martin 90 Cooper 88 Hill 86 Ward 85 Morris 84 Moore 82 Clark 80 Lee 80 King 78 Baker 77
        Harrison 76 Morgan 75 Allen 74 James 73 Scott 72 Phillips 71 Watson 70 Davis 69 Parker 68
        Price 67 Bennett 66 Young 65 Griffiths 64 Mitchell 63 Kelly 62 Cook 61 Carter 60 Richardson 59
        Bailey 58 Collins 57 Bell 56 Shaw 55 Murphy 55 Miller 54 Cox 53 Richards 52 Marshall 51
        Anderson 50 Simpson 49 Ellis 49 Adams 48 Wilkinson 47 Foster 46 Chapman 46 Powell 45 Webb 45
        Rogers 44 Gray 44 Mason 43 Hunt 42 Campbell 42 Matthews 41 Owen 41 Palmer 40 Holmes 40 Mills 39
        Barnes 39 Knight 38 Lloyd 38 Butler 37 Russell 37 Barker 36 Fisher 36 Stevens 35 Jenkins 35
        Murray 34 Dixon 34 Harvey 33 Graham 33 Pearson 32 Fletcher 32 Walsh 31 Gibson 31 Howard 30
        Andrews 30 Stewart 30 Elliott 29 Reynolds 29 Saunders 28 Payne 28 Fox 27 Ford 27 Pearce 26
        Day 26 Brooks 26 West 25 Lawrence 25 Cole 25 Atkinson 24 Bradley 24 Spencer 24 Dawson 23
        Ball 23 Burton 23 O'Brien 22 Watts 22 Rose 22 Booth 21 Perry 21 Ryan 21 Grant 21 Wells 20
        Armstrong 20 Francis 20 Rees 20 Hayes 19 Hart 19 Hudson 19 Newman 19 Barrett 18 Webster 18
        Hunter 18 Gregory 18 Carr 17 Lowe 17 Page 17 Marsh 17 Riley 16 Dunn 16 Woods 16 Parsons 16
        Berry 15 Stone 15 Reid 15 Holland 15 Hawkins 15 Harding 14 Porter 14 Robertson 14 Newton 14
        Oliver 14 Reed 14 Kennedy 13 Williamson 13 Bird 13 Gardner 13 Dean 13 Lane 12 Cooke 12 Bates 12
        Henderson 12 Parry 12 Burgess 11 Bishop 11 Walton 11 Burns 11 Nicholson 11 Shepherd 10 Ross 10
        Cross 10 Long 10 Freeman 10 Warren 10 Nicholls 10 Hamilton 10 Byrne 9 Sutton 9 McDonald 9
        Yates 9 Hodgson 9 Robson 9 Curtis 9 Hopkins 9 O'Neill 8 Doyle 8 Brennan 7 Quinn 7 McCarthy 7
        Thomson 6 Johnston 6 MacDonald 5 McKenzie 5 Fitzgerald 5 O'Connor 6 Gallagher 5 Boyle 4
        Chambers 9 Lambert 8 Gordon 8 Gill 12 Sharpe 6 Hewitt 6 Pritchard 5 Bowen 6 Vaughan 5
        Stokes 6 Rowe 6 Fowler 7 Black 7 Hammond 6 Mclean 4 Buckley 6 Blackwell 3 Whitehouse 4
        Hickman 3 Tonks 2 Cartwright 5 Brookes 6 Bradshaw 5 Hadley 3 Jeavons 1 Bytheway 1
        """
    ),
    "pk": _weighted(
        """
        Khan 120 Hussain 90 Ahmed 85 Ali 80 Begum 45 Akhtar 40 Mahmood 35 Iqbal 35 Rahman 33 Mohammed 30
        Shah 25 Bibi 15 Hassan 18 Aslam 14 Rashid 14 Butt 13 Malik 16 Chowdhury 12 Islam 14 Uddin 12
        Miah 14 Mirza 8 Qureshi 9 Sheikh 8 Anwar 9 Javed 8 Arshad 7 Bashir 8 Rehman 8 Saddique 4 Zaman 6
        Yousaf 6 Nawaz 7 Hanif 6 Latif 6 Choudhury 5 Siddiqui 5 Raza 5 Abbas 6 Younis 4 Sultan 4
        """
    ),
    "in": _weighted(
        """
        Patel 100 Singh 60 Kaur 30 Sharma 15 Gill 18 Sandhu 12 Sidhu 8 Dhillon 8 Bains 7 Johal 7
        Kumar 14 Mistry 10 Parmar 8 Chauhan 6 Lal 6 Virdi 5 Bhatti 5 Sohal 4 Atwal 4 Mann 6 Kang 5
        Mehta 6 Chahal 4 Rai 5 Ram 4 Bhogal 3 Sahota 4 Dhaliwal 4 Grewal 4 Mahal 3
        """
    ),
    "af": _weighted(
        """
        Okafor 6 Adeyemi 6 Mensah 6 Osei 5 Boateng 5 Okonkwo 4 Adebayo 5 Mohamed 10 Abdi 7 Ibrahim 6
        Mwangi 3 Moyo 4 Ndlovu 4 Nwosu 3 Asante 4 Owusu 5 Ogunleye 3 Eze 4 Yusuf 6 Omar 5 Farah 5
        Adeleke 3 Oyelaran 2 Musa 3 Achieng 2 Banda 3 Phiri 3 Danso 3 Appiah 4 Ogunbiyi 2
        """
    ),
    "ee": _weighted(
        """
        Nowak 12 Kowalski 9 Wiśniewski 7 Wójcik 7 Kowalczyk 6 Kamiński 6 Lewandowski 6 Zieliński 5
        Szymański 5 Woźniak 5 Dąbrowski 4 Kozłowski 4 Mazur 4 Jankowski 4 Popescu 5 Popa 4 Ionescu 3
        Kazlauskas 3 Petrov 2 Horvat 2
        """
    ),
}

# Polish surnames ending in -ski/-cki/-dzki take -ska/-cka/-dzka for women and girls, so a brother and
# sister can legitimately differ. Only the suffix changes; ``feminine_surname`` in the generator uses this.
FEMALE_SURNAME_FORMS = (("ski", "ska"), ("cki", "cka"), ("dzki", "dzka"))

# Second halves of the hyphenated first names that are common on recent birth registrations
# (Lily-Mae, Tommy-Lee). Sources disagree on whether to keep the hyphen, a space, or only the first half.
GIVEN_NAME_SUFFIXES: dict[str, tuple[str, ...]] = {
    "F": ("Mae", "May", "Rose", "Grace", "Rae", "Louise", "Jane", "Belle"),
    "M": ("James", "Lee", "Jay", "Ray", "John", "Rhys"),
}

ADULT_FEMALE: dict[str, tuple[tuple[str, int], ...]] = {
    "gb": _weighted(
        """
        Sarah 30 Emma 28 Laura 26 Rebecca 22 Gemma 20 Claire 18 Nicola 18 Amy 20 Jennifer 12 Kelly 16
        Lisa 14 Hannah 16 Stacey 12 Samantha 14 Louise 14 Rachel 14 Victoria 14 Charlotte 16 Lauren 14
        Jessica 12 Zoe 10 Natalie 12 Michelle 12 Kirsty 10 Leanne 10 Danielle 12 Jade 10 Katie 12
        Amanda 8 Joanne 10 Helen 10 Lucy 12 Sophie 10 Emily 8 Jodie 8 Hayley 10 Catherine 6 Elizabeth 6
        Kate 6 Holly 6 Chelsea 5 Carly 6 Kerry 6 Becky 4 Siobhan 3 Aimee 5 Jasmine 4 Naomi 4 Marcia 2
        Shanice 3 Tanya 3 Abigail 5 Eleanor 4 Ruth 3 Jenna 4 Kayleigh 4 Toni 3 Ellie 4
        """
    ),
    "pk": _weighted(
        """
        Nazia 6 Shazia 6 Rubina 5 Fatima 6 Ayesha 6 Sadia 5 Samina 5 Nasreen 4 Farzana 5 Shabana 5
        Rukhsana 4 Yasmin 6 Salma 5 Parveen 4 Saima 5 Aisha 5 Sobia 3 Asma 4 Humaira 3 Amina 4 Shamima 3
        Rehana 3 Nadia 4 Sabrina 3
        """
    ),
    "in": _weighted(
        """
        Priya 5 Sunita 4 Anita 4 Kiran 4 Harpreet 5 Manjit 3 Jaspreet 4 Rajinder 3 Sandeep 3 Poonam 3
        Neha 3 Pooja 4 Ramandeep 3 Amandeep 3 Sukhjit 2 Rupinder 2 Nisha 3 Reena 3 Seema 3
        """
    ),
    "af": _weighted(
        """
        Grace 5 Blessing 4 Abimbola 3 Funmilayo 2 Chipo 2 Adwoa 2 Comfort 3 Esther 3 Ngozi 3 Folake 2
        Yetunde 2 Amina 3 Hodan 2 Faduma 2 Patience 3 Joy 3 Mercy 3 Tendai 2 Akosua 2
        """
    ),
    "ee": _weighted(
        """
        Agnieszka 5 Katarzyna 5 Anna 5 Magdalena 4 Joanna 4 Monika 4 Ewa 3 Marta 3 Justyna 3 Karolina 3
        Elena 3 Ioana 2 Andreea 2 Jurgita 1
        """
    ),
}

ADULT_MALE: dict[str, tuple[tuple[str, int], ...]] = {
    "gb": _weighted(
        """
        David 25 James 22 Daniel 22 Mark 18 Paul 18 Andrew 18 Michael 20 Christopher 18 Matthew 18
        Richard 14 Lee 12 Craig 10 Stephen 12 Thomas 12 Robert 12 Adam 14 Ben 10 Jamie 10 Gareth 6
        Carl 8 Wayne 6 Darren 7 Dean 7 Ryan 10 Scott 8 Martin 6 John 10 Anthony 8 Kevin 6 Simon 6
        Jason 7 Steven 8 Neil 5 Ian 5 Gavin 5 Jonathan 6 Nathan 6 Liam 8 Jack 6 Samuel 5 Luke 7 Ashley 5
        Leon 4 Marcus 4 Dwayne 2 Kyle 4 Aaron 5 Sean 5 Joseph 5 Peter 4 Philip 4 Gary 4 Stuart 4
        """
    ),
    "pk": _weighted(
        """
        Mohammed 14 Imran 6 Asif 5 Tariq 4 Zahid 4 Shahid 4 Kamran 4 Naveed 4 Adnan 5 Faisal 4 Amir 4
        Bilal 4 Irfan 4 Abdul 5 Mohammad 6 Nadeem 3 Rizwan 4 Waqas 4 Usman 4 Sajid 4 Zubair 3 Yasir 3
        Muhammad 8 Shafiq 2 Jamil 2
        """
    ),
    "in": _weighted(
        """
        Rajesh 4 Sanjay 4 Amit 4 Vikram 3 Gurpreet 4 Harjinder 3 Jaswinder 3 Sukhwinder 3 Ravi 4 Deepak 3
        Anil 3 Manoj 3 Jatinder 3 Kuldeep 3 Sunil 3 Harpal 2 Balvinder 2 Vijay 3 Hitesh 2
        """
    ),
    "af": _weighted(
        """
        Oluwaseun 3 Emmanuel 4 Kwame 3 Chinedu 3 Tunde 3 Samuel 3 Joseph 3 Kofi 3 Tendai 2 Babatunde 2
        Abdi 3 Mohamed 4 Ahmed 3 Peter 3 Olumide 2 Kelechi 2 Yaw 2 Gift 2
        """
    ),
    "ee": _weighted(
        """
        Piotr 5 Tomasz 5 Krzysztof 4 Marcin 4 Paweł 4 Michał 4 Łukasz 4 Andrzej 3 Marek 3 Grzegorz 3
        Adrian 3 Ionut 2 Mihai 2 Darius 2 Mantas 1
        """
    ),
}

# Informal forms of given names: what a school, a GP receptionist or a parent on a form might write.
# Keys are formal names; several formal names share a nickname (Alex), which is exactly what makes
# nicknames hard for matching.
NICKNAMES: dict[str, tuple[str, ...]] = {
    "William": ("Will", "Bill", "Billy", "Liam", "Willie"),
    "Thomas": ("Tom", "Tommy"),
    "Alfred": ("Alfie", "Alf", "Fred"),
    "Catherine": ("Kate", "Cathy", "Katie", "Kat"),
    "Katherine": ("Kate", "Kathy", "Katie", "Kat"),
    "Elizabeth": ("Beth", "Liz", "Lizzie", "Libby", "Eliza", "Betsy"),
    "Alexander": ("Alex", "Xander", "Sandy"),
    "Alexandra": ("Alex", "Lexi", "Sasha"),
    "Benjamin": ("Ben", "Benji"),
    "Charles": ("Charlie", "Chas"),
    "Charlotte": ("Lottie", "Charlie", "Lotti"),
    "Christopher": ("Chris", "Kit"),
    "Daniel": ("Dan", "Danny"),
    "David": ("Dave", "Davey"),
    "Edward": ("Ed", "Eddie", "Ted", "Teddy"),
    "Frederick": ("Fred", "Freddie", "Freddy"),
    "Henry": ("Harry", "Hal"),
    "James": ("Jim", "Jamie", "Jimmy"),
    "Jacob": ("Jake", "Jakey"),
    "Jonathan": ("Jon", "Jonny"),
    "Joseph": ("Joe", "Joey"),
    "Joshua": ("Josh",),
    "Matthew": ("Matt", "Matty"),
    "Michael": ("Mike", "Mikey", "Mick"),
    "Nathaniel": ("Nate", "Nat"),
    "Nathan": ("Nate",),
    "Nicholas": ("Nick", "Nicky"),
    "Oliver": ("Ollie", "Olly"),
    "Patrick": ("Pat", "Paddy"),
    "Robert": ("Rob", "Bob", "Bobby", "Robbie"),
    "Samuel": ("Sam", "Sammy"),
    "Theodore": ("Theo", "Teddy", "Ted"),
    "Zachary": ("Zach", "Zac", "Zack"),
    "Albert": ("Albie", "Bert", "Bertie"),
    "Arthur": ("Art", "Artie"),
    "Gabriel": ("Gabe",),
    "Stanley": ("Stan",),
    "Sebastian": ("Seb", "Bastian"),
    "Tobias": ("Toby",),
    "Harrison": ("Harry", "Harri"),
    "Archibald": ("Archie",),
    "Reginald": ("Reggie", "Reg"),
    "Ronald": ("Ronnie",),
    "Lewis": ("Lew",),
    "Abigail": ("Abbie", "Abby", "Gail"),
    "Amelia": ("Millie", "Amy", "Mia", "Mel"),
    "Eleanor": ("Ellie", "Nell", "Nora"),
    "Florence": ("Flo", "Florrie", "Flossie"),
    "Georgina": ("Georgie", "Gina"),
    "Georgia": ("Georgie",),
    "Isabella": ("Izzy", "Bella", "Issy"),
    "Isabelle": ("Izzy", "Belle", "Issy"),
    "Isobel": ("Izzy", "Issy"),
    "Jessica": ("Jess", "Jessie"),
    "Margaret": ("Maggie", "Meg", "Peggy"),
    "Matilda": ("Tilly", "Tilda", "Mattie"),
    "Olivia": ("Liv", "Livvy", "Ollie"),
    "Penelope": ("Penny", "Nell"),
    "Rebecca": ("Becky", "Becca", "Bex"),
    "Samantha": ("Sam", "Sammy"),
    "Sophia": ("Soph", "Sophie"),
    "Sophie": ("Soph",),
    "Victoria": ("Vicky", "Tori", "Vic"),
    "Evelyn": ("Evie", "Eve"),
    "Imogen": ("Immy", "Imi"),
    "Josephine": ("Josie", "Jo"),
    "Annabelle": ("Annie", "Bella"),
    "Harriet": ("Hattie", "Hetty"),
    "Madison": ("Maddie", "Maddy"),
    "Maddison": ("Maddie", "Maddy"),
    "Natalie": ("Nat", "Tally"),
    "Francesca": ("Frankie", "Fran", "Cesca"),
    "Emily": ("Em", "Emmy", "Millie"),
    "Emilia": ("Millie", "Em"),
    "Emma": ("Em",),
    "Alice": ("Ally", "Allie"),
    "Rose": ("Rosie",),
    "Rosa": ("Rosie",),
    "Eliza": ("Liza", "Lizzie"),
    "Arabella": ("Bella", "Bel"),
    "Beatrice": ("Bea", "Trixie"),
    "Gabriela": ("Gabi", "Ela"),
    "Muhammad": ("Mo", "Mohd"),
    "Mohammed": ("Mo", "Mohd"),
    "Mohammad": ("Mo",),
    "Abdullah": ("Abdul",),
    "Ibrahim": ("Ibby",),
    "Zakariya": ("Zak", "Zaki"),
    "Ismail": ("Izzy",),
    "Aleksander": ("Olek", "Alek"),
    "Jakub": ("Kuba",),
    "Zofia": ("Zosia",),
    "Wojciech": ("Wojtek",),
    "Oluwaseun": ("Seun",),
    "Oluwadamilare": ("Dami", "Lare"),
    "Oluwatosin": ("Tosin",),
    "Temiloluwa": ("Temi",),
    "Ifeoluwa": ("Ife",),
    "Chukwuemeka": ("Emeka",),
    "Frankie": ("Frank",),
    "Freddie": ("Fred",),
    "Alfie": ("Alf",),
}

# Spellings that sound the same (or are habitually confused). Any member of a group may be written as
# any other, so "Catherine" may appear as "Kathryn" in one source and "Katharine" in another.
_VARIANT_GROUPS: tuple[tuple[str, ...], ...] = (
    ("Catherine", "Kathryn", "Katherine", "Catharine", "Katharine"),
    ("Stephen", "Steven"),
    ("Sophie", "Sofie"),
    ("Sophia", "Sofia"),
    ("Isabel", "Isobel", "Isabelle", "Isabell"),
    ("Isabella", "Izabella"),
    ("Leah", "Lea", "Leigha"),
    ("Zara", "Zarah", "Zahra"),
    ("Muhammad", "Mohammed", "Mohammad", "Mohamed", "Muhammed"),
    ("Aisha", "Ayesha", "Aysha"),
    ("Jayden", "Jaden", "Jaiden", "Jaydon"),
    ("Aiden", "Aidan", "Ayden"),
    ("Kayden", "Caden", "Kaiden"),
    ("Lily", "Lilly", "Lillie", "Lilli"),
    ("Evie", "Evey"),
    ("Ellie", "Elly", "Elli"),
    ("Millie", "Milly", "Milli"),
    ("Maisie", "Maisy", "Maisey"),
    ("Gracie", "Gracey"),
    ("Layla", "Leila", "Laila", "Lailah"),
    ("Zoe", "Zoey", "Zoë"),
    ("Chloe", "Chloë", "Cloe"),
    ("Rhys", "Reece", "Reese"),
    ("Niamh", "Neve", "Neave"),
    ("Sean", "Shaun", "Shawn"),
    ("Matthew", "Mathew"),
    ("Philip", "Phillip"),
    ("Nicholas", "Nicolas"),
    ("Jacob", "Jakob"),
    ("Louis", "Lewis", "Louie"),
    ("Megan", "Meghan", "Meagan"),
    ("Hannah", "Hanna", "Hana"),
    ("Sara", "Sarah"),
    ("Rebecca", "Rebekah"),
    ("Caitlin", "Kaitlyn", "Katelyn", "Caitlyn"),
    ("Kieran", "Keiran", "Ciaran", "Kieron"),
    ("Aaron", "Arron", "Aron"),
    ("Daniel", "Danial"),
    ("Freddie", "Freddy"),
    ("Harvey", "Harvie"),
    ("Eesa", "Isa", "Esa"),
    ("Yusuf", "Yousef", "Yousuf"),
    ("Zayn", "Zain", "Zane"),
    ("Amelie", "Amélie"),
    ("Esme", "Esmé"),
    ("Eloise", "Eloïse"),
    ("Darcie", "Darcey", "Darcy"),
    ("Tyler", "Tylor"),
    ("Maryam", "Mariam", "Mariyam"),
    ("Amira", "Ameera"),
    ("Inaaya", "Inaya"),
    ("Aleena", "Alina"),
    ("Zakariya", "Zakaria", "Zachariah"),
    ("Smith", "Smyth", "Smythe"),
    ("Thompson", "Thomson", "Tomson"),
    ("Clarke", "Clark"),
    ("Davies", "Davis", "Davey"),
    ("Phillips", "Philips"),
    ("Stevens", "Stephens"),
    ("Reid", "Reed", "Read"),
    ("Gray", "Grey"),
    ("Brown", "Browne"),
    ("Cooke", "Cook"),
    ("Matthews", "Mathews"),
    ("Johnston", "Johnstone"),
    ("Nicholls", "Nichols", "Nicholl"),
    ("MacDonald", "McDonald", "Macdonald"),
    ("McKenzie", "MacKenzie", "Mackenzie"),
    ("O'Brien", "OBrien", "O Brien", "O’Brien"),
    ("O'Neill", "O'Neil", "ONeill"),
    ("O'Connor", "OConnor", "O'Conner"),
    ("Hussain", "Hussein", "Husain"),
    ("Ahmed", "Ahmad", "Ahmet"),
    ("Rahman", "Rehman"),
    ("Mahmood", "Mahmud", "Mehmood"),
    ("Chowdhury", "Choudhury", "Chaudhry", "Chaudhary"),
    ("Begum", "Begam"),
    ("Mohammed", "Mohamed", "Muhammad"),
    ("Yousaf", "Yusuf", "Yousuf"),
    ("Saddique", "Siddique", "Sadiq"),
    ("Nowak", "Novak"),
    ("Kowalski", "Kowalsky"),
    ("Kowalska", "Kowalsky"),
    ("Mensah", "Mensa"),
    ("Osei", "Osae"),
    ("Adeyemi", "Adeyemmi"),
)

VARIANTS: dict[str, tuple[str, ...]] = {}
for _group in _VARIANT_GROUPS:
    for _name in _group:
        # A name in two groups (Mohammed is a given name and a surname) gets the union of alternatives.
        _others = tuple(other for other in _group if other != _name)
        VARIANTS[_name] = tuple(dict.fromkeys(VARIANTS.get(_name, ()) + _others))
